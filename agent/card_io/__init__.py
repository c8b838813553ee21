"""Card link: readers, APDUs, the club card application, stripe and manual entry."""
