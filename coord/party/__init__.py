"""The party takes part (行政相对人参与): personal links to confirm an interview or ask for another time,
send rectification proof, sign the undertaking and rate the service — no account, on a phone.

Layers (module imports go downward only):
  models  <-  links (tokens, codes, validity, QR)  <-  queries (shared reads: API, worklist, oversight)
  <-  services (who acts, issuing/sending/revoking links, listeners)  <-  answers, proofs, undertaking,
  feedback (the party's actions and the staff's answers)  <-  portal (/p/, no login), views (staff), api.
`coord.minutes.services` imports `links` (the notice prints the QR code and the access code) and
`coord.interviews.api` imports `queries` (`party_response`).
"""
