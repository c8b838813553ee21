"""Calendar arithmetic without datetime (MicroPython has none): UTC seconds -> civil fields.

Days to civil date by Howard Hinnant's `civil_from_days` (proleptic Gregorian), exact for any
date after 1970. Tehran is UTC+03:30 all year (Iran stopped daylight saving in 2022).
"""

TEHRAN_OFFSET_S = 12600


def civil(epoch_s):
    """UTC seconds since 1970 -> (year, month, day, hour, minute, second)."""
    days, rest = divmod(int(epoch_s), 86400)
    hour, rest = divmod(rest, 3600)
    minute, second = divmod(rest, 60)
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (1 if month <= 2 else 0)
    return year, month, day, hour, minute, second


def transmission(epoch_s):
    """Field 7: MMDDhhmmss in UTC."""
    _y, mo, d, h, mi, s = civil(epoch_s)
    return f"{mo:02d}{d:02d}{h:02d}{mi:02d}{s:02d}"


def local_fields(epoch_s, offset_s=TEHRAN_OFFSET_S):
    """Fields 12 (hhmmss) and 13 (MMDD) in local time."""
    _y, mo, d, h, mi, s = civil(epoch_s + offset_s)
    return f"{h:02d}{mi:02d}{s:02d}", f"{mo:02d}{d:02d}"


def local_stamp(epoch_s, offset_s=TEHRAN_OFFSET_S):
    """'YYYY-MM-DD hh:mm' in local time, for receipts and screens."""
    y, mo, d, h, mi, _s = civil(epoch_s + offset_s)
    return f"{y:04d}-{mo:02d}-{d:02d} {h:02d}:{mi:02d}"


def local_day(epoch_s, offset_s=TEHRAN_OFFSET_S):
    """'YYYYMMDD' in local time: the business day of a record."""
    y, mo, d, _h, _mi, _s = civil(epoch_s + offset_s)
    return f"{y:04d}{mo:02d}{d:02d}"
