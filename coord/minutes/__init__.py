"""约谈笔录: revisioned interview minutes, locked when final, printed as official PDFs."""
