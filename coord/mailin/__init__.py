"""Inbound mail: invitees' iMIP replies and counter-proposals (IMAP polling or `flask mail-in`)."""
