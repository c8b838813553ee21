"""Card ranges as data: Iranian bank BINs (6-digit IINs, ISO/IEC 7812-1) and the club's ranges.

agent/card_io/routing.py reads these tables; nothing here runs code. To add a range, add a row
(docs/card.md, "Routing by card number"): an IIN is matched as a prefix of the card number, the
longest matching prefix wins, so an 8-digit IIN (ISO/IEC 7812-1:2017) can sit inside a 6-digit
one. Every prefix must appear once across both tables (tests/portable/test_routing.py checks).

Bank cards are Shetab (the Iranian interbank network) cards; several banks have more than one
BIN, and banks merged into another (Ansar and Hekmat into Sepah) keep their rows while their
cards are in circulation: the name stays the one printed on the card.

Each table is one str constant, a row per line between newlines, fields split by "|": a str
constant stays in the .mpy (run in place from ROMFS), where a tuple of tuples is built on the
heap at import. routing.rows() reads a table as (prefix, key, name, name_fa) tuples.
"""

# IIN prefix|bank key|English name|Persian name
BANKS = """
603799|melli|Bank Melli Iran|بانک ملی ایران
589210|sepah|Bank Sepah|بانک سپه
603769|saderat|Bank Saderat Iran|بانک صادرات ایران
610433|mellat|Bank Mellat|بانک ملت
991975|mellat|Bank Mellat|بانک ملت
627353|tejarat|Tejarat Bank|بانک تجارت
585983|tejarat|Tejarat Bank|بانک تجارت
603770|keshavarzi|Bank Keshavarzi|بانک کشاورزی
639217|keshavarzi|Bank Keshavarzi|بانک کشاورزی
628023|maskan|Bank Maskan|بانک مسکن
589463|refah|Refah Kargaran Bank|بانک رفاه کارگران
627648|tosee_saderat|Export Development Bank of Iran|بانک توسعه صادرات
627961|sanat_madan|Bank of Industry and Mine|بانک صنعت و معدن
622106|parsian|Parsian Bank|بانک پارسیان
627884|parsian|Parsian Bank|بانک پارسیان
639194|parsian|Parsian Bank|بانک پارسیان
502229|pasargad|Bank Pasargad|بانک پاسارگاد
639347|pasargad|Bank Pasargad|بانک پاسارگاد
621986|saman|Saman Bank|بانک سامان
627412|eghtesad_novin|EN Bank (Eghtesad Novin)|بانک اقتصاد نوین
639346|sina|Sina Bank|بانک سینا
502806|shahr|Shahr Bank|بانک شهر
504706|shahr|Shahr Bank|بانک شهر
627381|ansar|Ansar Bank|بانک انصار
627760|post|Post Bank of Iran|پست بانک ایران
502908|tosee_taavon|Tose'e Ta'avon Bank|بانک توسعه تعاون
639607|sarmayeh|Sarmayeh Bank|بانک سرمایه
627488|karafarin|Karafarin Bank|بانک کارآفرین
502910|karafarin|Karafarin Bank|بانک کارآفرین
636214|ayandeh|Ayandeh Bank|بانک آینده
502938|day|Day Bank|بانک دی
504172|resalat|Resalat Bank|بانک قرض‌الحسنه رسالت
606373|mehr_iran|Mehr Iran Bank|بانک قرض‌الحسنه مهر ایران
505416|gardeshgari|Gardeshgari Bank|بانک گردشگری
585947|khavarmianeh|Middle East Bank (Khavarmianeh)|بانک خاورمیانه
505785|iran_zamin|Iran Zamin Bank|بانک ایران زمین
636949|hekmat|Hekmat Iranian Bank|بانک حکمت ایرانیان
"""

# The club's own card ranges: IIN prefix|program|English name|Persian name.
# 987911 is the Vafa club range (simulator/club_server/seed.py, docs/testing.md).
CLUB_RANGES = """
987911|vafa|Vafa customer club|باشگاه مشتریان وفا
"""
