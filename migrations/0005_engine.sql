-- 0005_engine: what the split of the sync engine needs.

-- operations.sent_cause: why an operation with sent = 1 (a request may have
-- reached ConnectWise without its answer being recorded) is uncertain, which
-- the next attempt's lookup (externalXRef search, notes read) recovers from:
--   interrupted : the daemon stopped or died with the request in flight
--   transport   : no answer (timeout, reset, connection lost after writing)
--   server      : a 5xx, which may come after the server acted
--   protocol    : an answer that could not be read
-- NULL on rows written by earlier releases; read as 'interrupted'.
ALTER TABLE operations ADD COLUMN sent_cause TEXT
  CHECK (sent_cause IN ('interrupted', 'transport', 'server', 'protocol'));
