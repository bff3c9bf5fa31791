"""Data protection: retention, erasure and export by author, suppression of authors who objected, the audit log."""
