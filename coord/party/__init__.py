"""The party takes part (行政相对人参与): personal links to confirm an interview or ask for another time,
send rectification proof, sign the undertaking and rate the service — no account, on a phone.

Layers (module imports go downward only):
  models  <- links (tokens, codes, validity, QR)  <- queries (shared reads)  <- services, proofs,
  undertaking, feedback (state changes)  <- portal (/p/, no login), views (staff pages), api.
`coord.minutes.services` imports `links` (the notice prints the QR code and access code).
"""
