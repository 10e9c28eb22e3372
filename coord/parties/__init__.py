"""The party directory and one timeline per party: interviews, leads, measures, visits, undertakings."""
