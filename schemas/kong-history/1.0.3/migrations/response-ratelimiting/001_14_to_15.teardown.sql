-- Kong source: kong/plugins/response-ratelimiting/migrations/001_14_to_15.lua @ 1.0.3 (postgres.teardown)
-- Lua: one connector:query() with the SQL below, verbatim (one simple-Query message, so one implicit transaction).
-- DDL: drops the pre-1.0 increment_response_rate_limits* functions.
DROP FUNCTION IF EXISTS "increment_response_rate_limits" (UUID, UUID, TEXT, TEXT, TIMESTAMP WITH TIME ZONE, INTEGER) CASCADE;
DROP FUNCTION IF EXISTS "increment_response_rate_limits" (UUID, UUID, TEXT, TEXT, TIMESTAMP WITHOUT TIME ZONE, INTEGER) CASCADE;
DROP FUNCTION IF EXISTS "increment_response_rate_limits" (UUID, TEXT, TEXT, TIMESTAMP WITH TIME ZONE, INTEGER) CASCADE;
DROP FUNCTION IF EXISTS "increment_response_rate_limits" (UUID, TEXT, TEXT, TIMESTAMP WITHOUT TIME ZONE, INTEGER) CASCADE;
DROP FUNCTION IF EXISTS "increment_response_rate_limits_api" (UUID, TEXT, TEXT, TIMESTAMP WITH TIME ZONE, INTEGER) CASCADE;
DROP FUNCTION IF EXISTS "increment_response_rate_limits_api" (UUID, TEXT, TEXT, TIMESTAMP WITHOUT TIME ZONE, INTEGER) CASCADE;
