"""Club link: ISO 8583 codec, framing, AES crypto, DUKPT and message protection."""
