"""Calendar invites (iMIP), subscription feeds and .ics import of busy blocks."""
