"""What `vafa bridge serve` serves: the POST routes to the client's commands and their keys,
the page's files, which methods each path answers and the list of endpoints a 404 names.
Data and one loader; the server and its handler (web.py) read them.
"""

from importlib import resources

# path -> (client method, mandatory keys, optional keys)
ROUTES = {
    "/sale": ("sale", ("amount", "invoice", "cashier"), ("method", "coupon", "split")),
    "/balance": ("balance", (), ("cashier", "invoice")),
    "/refund": ("refund", ("amount", "invoice", "cashier", "original_rrn"), ("account",)),
    "/void": ("void", ("invoice", "cashier"), ("original_invoice",)),
    "/status": ("status", ("invoice",), ()),
    "/settlement": ("settlement", ("invoice",), ("cashier",)),
    "/print": ("print_text", ("text",), ()),
    "/show": ("show_text", ("text",), ("seconds",)),
    "/topup": ("topup", ("amount", "invoice", "cashier"), ()),
}

# GET path -> (file under hostbridge/static, Content-Type): the integrator's page (docs/ecr.md 9.2)
PAGES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/page.js": ("page.js", "text/javascript; charset=utf-8"),
    "/page.css": ("page.css", "text/css; charset=utf-8"),
    "/icon.svg": ("icon.svg", "image/svg+xml"),
}
# GET paths anyone may read without the token: the page, the API's description, health
PUBLIC = (*PAGES, "/openapi.json", "/health")
# path -> the methods it answers (OPTIONS, the CORS preflight, on every path besides)
METHODS = {
    **dict.fromkeys(PUBLIC, ("GET", "HEAD")),
    **dict.fromkeys(ROUTES, ("POST",)),
}
ENDPOINTS = sorted(f"{m} {p}" for p, ms in METHODS.items() for m in ms if m != "HEAD")
PAGE_HEADERS = {  # the page runs only its own script and style, and is framed by nobody
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def load_pages():
    """The page's files, read once when a server starts (never at import)."""
    folder = resources.files("hostbridge") / "static"
    return {path: ((folder / name).read_bytes(), kind) for path, (name, kind) in PAGES.items()}
