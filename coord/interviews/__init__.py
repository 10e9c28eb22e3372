"""Joint interviews (联合约谈): parties, agencies, officials, state machine, rectification, follow-up visits."""
