"""Club server simulator: the far end of the club link (pyiso8583-based, CPython)."""
