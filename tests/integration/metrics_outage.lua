-- metrics_outage.lua - one message while Redis is down (on_redis_error =
-- accept): accepted at MAIL; t_metrics.sh checks what the metrics say.
package.path = os.getenv("SG_SRC") .. "/tests/miltertest/?.lua;" .. package.path
local t = require("common")
local conn = t.connect()
t.mail(conn, "alice@example.net", "QO1", SMFIR_ACCEPT, "during the outage")
mt.disconnect(conn)
