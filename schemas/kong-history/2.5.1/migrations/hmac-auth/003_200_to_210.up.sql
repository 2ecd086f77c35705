-- Add ws_id to hmacauth_credentials, populating all of them with the default workspace id
        DO $$
        BEGIN
          EXECUTE format('ALTER TABLE IF EXISTS ONLY "hmacauth_credentials" ADD "ws_id" UUID REFERENCES "workspaces" ("id") DEFAULT %L',
                         (SELECT "id" FROM "workspaces" WHERE "name" = 'default'));
        EXCEPTION WHEN DUPLICATE_COLUMN THEN
          -- Do nothing, accept existing state
        END;
        $$;


      

        -- Ensure (id, ws_id) pair is unique
        DO $$
        BEGIN
          ALTER TABLE IF EXISTS ONLY "hmacauth_credentials" ADD CONSTRAINT "hmacauth_credentials_id_ws_id_unique" UNIQUE ("id", "ws_id");
        EXCEPTION WHEN DUPLICATE_TABLE THEN
          -- Do nothing, accept existing state
        END$$;

      

          -- Update foreign key relationship
          ALTER TABLE IF EXISTS ONLY "hmacauth_credentials" DROP CONSTRAINT IF EXISTS "hmacauth_credentials_consumer_id_fkey";

          DO $$
          BEGIN
            ALTER TABLE IF EXISTS ONLY "hmacauth_credentials"
                        ADD CONSTRAINT "hmacauth_credentials_consumer_id_fkey"
                           FOREIGN KEY ("consumer_id", "ws_id")
                            REFERENCES consumers("id", "ws_id") ON DELETE CASCADE;
          EXCEPTION WHEN DUPLICATE_OBJECT THEN
            -- Do nothing, accept existing state
          END$$;

      

          -- Make 'hmacauth_credentials.username' unique per workspace
          ALTER TABLE IF EXISTS ONLY "hmacauth_credentials" DROP CONSTRAINT IF EXISTS "hmacauth_credentials_username_key";

          -- Ensure (ws_id, username) pair is unique
          DO $$
          BEGIN
            ALTER TABLE IF EXISTS ONLY "hmacauth_credentials" ADD CONSTRAINT "hmacauth_credentials_ws_id_username_unique" UNIQUE ("ws_id", "username");
          EXCEPTION WHEN DUPLICATE_TABLE THEN
            -- Do nothing, accept existing state
          END$$;
