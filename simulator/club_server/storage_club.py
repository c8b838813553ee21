"""The club's own rows in the database: settings, programs, merchants, terminals, card
products.

Methods of storage.Storage, which composes this mixin: they rely on its _one, _all, _run,
_insert and _update helpers (the connection is Storage's).
"""


class ClubRows:
    # -- settings, programs, merchants, terminals -----------------------------------------

    def settings(self):
        return {r["key"]: r["value"] for r in self._all("SELECT key, value FROM settings")}

    def put_setting(self, key, value):
        self._run("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", (key, str(value)))

    def add_program(self, **values):
        return self._insert("programs", values)

    def program(self, program_id):
        return self._one("SELECT * FROM programs WHERE id = ?", (program_id,))

    def add_merchant(self, **values):
        self._insert("merchants", values)

    def merchant(self, merchant_id):
        return self._one("SELECT * FROM merchants WHERE merchant_id = ?", (merchant_id,))

    def merchants(self):
        return self._all("SELECT * FROM merchants ORDER BY merchant_id")

    def add_terminal(self, **values):
        self._insert("terminals", values)

    def terminal_by_ikid(self, ikid_hex):
        return self._one("SELECT * FROM terminals WHERE ikid = ?", (ikid_hex,))

    def terminals(self):
        return self._all("SELECT * FROM terminals ORDER BY terminal_id")

    def set_last_counter(self, terminal_id, counter):
        self._run(
            "UPDATE terminals SET last_counter = ? WHERE terminal_id = ?", (counter, terminal_id)
        )

    def add_product(self, **values):
        self._insert("products", values)

    def product(self, code):
        return self._one("SELECT * FROM products WHERE code = ?", (code,))
