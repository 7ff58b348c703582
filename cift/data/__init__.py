"""Market data that is not storage: schemas, validation, import, the synthetic market, bars."""
