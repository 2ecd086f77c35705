-- Kong source: kong/db/migrations/core/009_200_to_210.lua (postgres.teardown), which calls
--   ws_adjust_data(core_entities) from kong/db/migrations/operations/200_to_210.lua and then the
--   local function pg_ca_certificates_migration.
-- What the Lua does, in this order (every step is its own connector:query(), autocommitted):
--   1. For each core entity upstreams, targets, consumers, certificates, snis, services, routes,
--      plugins (order of core_entities):
--        - plugins only (the only one with a composite cache_key): ws_update_composite_cache_key,
--          i.e. append ':<id of the default workspace>' to every cache_key ending in ':'
--          (rows written by Kong >= 2.1 already end with the workspace id, so nothing matches);
--        - ws_update_keys: `ALTER ... ALTER "ws_id" SET DEFAULT NULL`. This is DDL: the up step
--          added ws_id with DEFAULT <default workspace id> to backfill existing rows; the
--          teardown removes that default again (SET DEFAULT NULL leaves no default at all).
--      These statements are copied verbatim from the SQL Kong generates.
--   2. pg_ca_certificates_migration: iterates `SELECT id, cert, cert_digest FROM ca_certificates`,
--      computes the lowercase hex SHA-256 of the certificate's DER encoding
--      (resty.openssl x509.new(cert):digest("sha256")), and where it differs from cert_digest runs
--      `UPDATE ca_certificates SET cert_digest = '<digest>' WHERE id = '<id>'`; a certificate that
--      cannot be parsed aborts the teardown ("cannot create digest value of certificate with id: ...").
--      Then (DDL, verbatim) `ALTER ... "cert_digest" SET NOT NULL`.
--      Translation: a DO block that walks the rows the same way. DER = base64-decoded body of the
--      first "-----BEGIN CERTIFICATE-----" PEM block (what OpenSSL parses). SHA-256 uses the
--      built-in sha256(bytea) on PostgreSQL >= 11 and an equivalent PL/pgSQL implementation on
--      9.5 .. 10 (no extension needed). On an empty table (bootstrap) the loop does nothing.

-- Each statement below is sent by Kong as a separate connector:query() call,
-- i.e. each one commits on its own (no wrapping transaction).

ALTER TABLE IF EXISTS ONLY "upstreams" ALTER "ws_id" SET DEFAULT NULL;

ALTER TABLE IF EXISTS ONLY "targets" ALTER "ws_id" SET DEFAULT NULL;

ALTER TABLE IF EXISTS ONLY "consumers" ALTER "ws_id" SET DEFAULT NULL;

ALTER TABLE IF EXISTS ONLY "certificates" ALTER "ws_id" SET DEFAULT NULL;

ALTER TABLE IF EXISTS ONLY "snis" ALTER "ws_id" SET DEFAULT NULL;

ALTER TABLE IF EXISTS ONLY "services" ALTER "ws_id" SET DEFAULT NULL;

ALTER TABLE IF EXISTS ONLY "routes" ALTER "ws_id" SET DEFAULT NULL;

UPDATE "plugins"
SET cache_key = CONCAT(cache_key, ':',
                       (SELECT id FROM workspaces WHERE name = 'default'))
WHERE cache_key LIKE '%:';

ALTER TABLE IF EXISTS ONLY "plugins" ALTER "ws_id" SET DEFAULT NULL;

DO $$
DECLARE
  r       record;
  der     bytea;
  dgst    text;
  -- only used on PostgreSQL < 11 (no built-in sha256(bytea) there)
  k       int8[] := '[0:63]={1116352408,1899447441,3049323471,3921009573,961987163,1508970993,2453635748,2870763221,
      3624381080,310598401,607225278,1426881987,1925078388,2162078206,2614888103,3248222580,
      3835390401,4022224774,264347078,604807628,770255983,1249150122,1555081692,1996064986,
      2554220882,2821834349,2952996808,3210313671,3336571891,3584528711,113926993,338241895,
      666307205,773529912,1294757372,1396182291,1695183700,1986661051,2177026350,2456956037,
      2730485921,2820302411,3259730800,3345764771,3516065817,3600352804,4094571909,275423344,
      430227734,506948616,659060556,883997877,958139571,1322822218,1537002063,1747873779,
      1955562222,2024104815,2227730452,2361852424,2428436474,2756734187,3204031479,3329325298}'::int8[];
  hs      int8[];
  w       int8[];
  msg     bytea;
  bitlen  int8;
  a int8; b int8; c int8; d int8; e int8; f int8; g int8; hh int8;
  s0 int8; s1 int8; t1 int8; t2 int8;
  m       CONSTANT int8 := 4294967295;
  i       int;
  off     int;
BEGIN
  FOR r IN SELECT id, cert, cert_digest FROM ca_certificates LOOP
    der := decode(regexp_replace(substring(r.cert from '-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----'),
                                 '[^A-Za-z0-9+/=]', '', 'g'), 'base64');
    IF der IS NULL OR length(der) = 0 THEN
      RAISE EXCEPTION 'cannot create digest value of certificate with id: %', r.id;
    END IF;

    IF current_setting('server_version_num')::int >= 110000 THEN
      dgst := encode(sha256(der), 'hex');
    ELSE
      -- FIPS 180-4 SHA-256 on 32-bit words held in int8
      bitlen := length(der)::int8 * 8;
      msg := der || decode('80', 'hex');
      msg := msg || decode(repeat('00', (56 - length(msg) % 64 + 64) % 64), 'hex')
                 || decode(lpad(to_hex(bitlen), 16, '0'), 'hex');
      hs := '[0:7]={1779033703,3144134277,1013904242,2773480762,1359893119,2600822924,528734635,1541459225}'::int8[];
      FOR off IN 0 .. length(msg) - 1 BY 64 LOOP
        w := array_fill(0::int8, ARRAY[64], ARRAY[0]);
        FOR i IN 0 .. 15 LOOP
          w[i] := (get_byte(msg, off + 4 * i)::int8 << 24) | (get_byte(msg, off + 4 * i + 1)::int8 << 16)
                | (get_byte(msg, off + 4 * i + 2)::int8 << 8) | get_byte(msg, off + 4 * i + 3)::int8;
        END LOOP;
        FOR i IN 16 .. 63 LOOP
          s0 := (((w[i-15] >> 7) | (w[i-15] << 25)) # ((w[i-15] >> 18) | (w[i-15] << 14)) # (w[i-15] >> 3)) & m;
          s1 := (((w[i-2] >> 17) | (w[i-2] << 15)) # ((w[i-2] >> 19) | (w[i-2] << 13)) # (w[i-2] >> 10)) & m;
          w[i] := (w[i-16] + s0 + w[i-7] + s1) & m;
        END LOOP;
        a := hs[0]; b := hs[1]; c := hs[2]; d := hs[3]; e := hs[4]; f := hs[5]; g := hs[6]; hh := hs[7];
        FOR i IN 0 .. 63 LOOP
          s1 := (((e >> 6) | (e << 26)) # ((e >> 11) | (e << 21)) # ((e >> 25) | (e << 7))) & m;
          t1 := (hh + s1 + ((e & f) # ((e # m) & g)) + k[i] + w[i]) & m;
          s0 := (((a >> 2) | (a << 30)) # ((a >> 13) | (a << 19)) # ((a >> 22) | (a << 10))) & m;
          t2 := (s0 + ((a & b) # (a & c) # (b & c))) & m;
          hh := g; g := f; f := e; e := (d + t1) & m;
          d := c; c := b; b := a; a := (t1 + t2) & m;
        END LOOP;
        hs[0] := (hs[0] + a) & m; hs[1] := (hs[1] + b) & m; hs[2] := (hs[2] + c) & m; hs[3] := (hs[3] + d) & m;
        hs[4] := (hs[4] + e) & m; hs[5] := (hs[5] + f) & m; hs[6] := (hs[6] + g) & m; hs[7] := (hs[7] + hh) & m;
      END LOOP;
      dgst := '';
      FOR i IN 0 .. 7 LOOP
        dgst := dgst || lpad(to_hex(hs[i]), 8, '0');
      END LOOP;
    END IF;

    IF dgst IS DISTINCT FROM r.cert_digest THEN
      UPDATE ca_certificates SET cert_digest = dgst WHERE id = r.id;
    END IF;
  END LOOP;
END;
$$;

DO $$
BEGIN
  ALTER TABLE IF EXISTS ONLY "ca_certificates" ALTER COLUMN "cert_digest" SET NOT NULL;
EXCEPTION WHEN UNDEFINED_COLUMN THEN
  -- Do nothing, accept existing state
END;
$$;
