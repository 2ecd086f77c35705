DO $$
      BEGIN
        ALTER TABLE IF EXISTS ONLY "oauth2_authorization_codes" ADD "challenge" TEXT;
      EXCEPTION WHEN DUPLICATE_COLUMN THEN
        -- Do nothing, accept existing state
      END$$;

      DO $$
      BEGIN
        ALTER TABLE IF EXISTS ONLY "oauth2_authorization_codes" ADD "challenge_method" TEXT;
      EXCEPTION WHEN DUPLICATE_COLUMN THEN
        -- Do nothing, accept existing state
      END$$;

      DO $$
      BEGIN
        ALTER TABLE IF EXISTS ONLY "oauth2_credentials" ADD "client_type" TEXT;
      EXCEPTION WHEN DUPLICATE_COLUMN THEN
        -- Do nothing, accept existing state
      END$$;

      DO $$
      BEGIN
        ALTER TABLE IF EXISTS ONLY oauth2_credentials ADD hash_secret BOOLEAN;
      EXCEPTION WHEN DUPLICATE_COLUMN THEN
        -- Do nothing, accept existing state
      END$$;
    
        -- Add ws_id to oauth2_credentials, populating all of them with the default workspace id
        DO $$
        BEGIN
          EXECUTE format('ALTER TABLE IF EXISTS ONLY "oauth2_credentials" ADD "ws_id" UUID REFERENCES "workspaces" ("id") DEFAULT %L',
                         (SELECT "id" FROM "workspaces" WHERE "name" = 'default'));
        EXCEPTION WHEN DUPLICATE_COLUMN THEN
          -- Do nothing, accept existing state
        END;
        $$;


      

        -- Ensure (id, ws_id) pair is unique
        DO $$
        BEGIN
          ALTER TABLE IF EXISTS ONLY "oauth2_credentials" ADD CONSTRAINT "oauth2_credentials_id_ws_id_unique" UNIQUE ("id", "ws_id");
        EXCEPTION WHEN DUPLICATE_TABLE THEN
          -- Do nothing, accept existing state
        END$$;

      

          -- Update foreign key relationship
          ALTER TABLE IF EXISTS ONLY "oauth2_credentials" DROP CONSTRAINT IF EXISTS "oauth2_credentials_consumer_id_fkey";

          DO $$
          BEGIN
            ALTER TABLE IF EXISTS ONLY "oauth2_credentials"
                        ADD CONSTRAINT "oauth2_credentials_consumer_id_fkey"
                           FOREIGN KEY ("consumer_id", "ws_id")
                            REFERENCES consumers("id", "ws_id") ON DELETE CASCADE;
          EXCEPTION WHEN DUPLICATE_OBJECT THEN
            -- Do nothing, accept existing state
          END$$;

      

          -- Make 'oauth2_credentials.client_id' unique per workspace
          ALTER TABLE IF EXISTS ONLY "oauth2_credentials" DROP CONSTRAINT IF EXISTS "oauth2_credentials_client_id_key";

          -- Ensure (ws_id, client_id) pair is unique
          DO $$
          BEGIN
            ALTER TABLE IF EXISTS ONLY "oauth2_credentials" ADD CONSTRAINT "oauth2_credentials_ws_id_client_id_unique" UNIQUE ("ws_id", "client_id");
          EXCEPTION WHEN DUPLICATE_TABLE THEN
            -- Do nothing, accept existing state
          END$$;

      

        -- Add ws_id to oauth2_authorization_codes, populating all of them with the default workspace id
        DO $$
        BEGIN
          EXECUTE format('ALTER TABLE IF EXISTS ONLY "oauth2_authorization_codes" ADD "ws_id" UUID REFERENCES "workspaces" ("id") DEFAULT %L',
                         (SELECT "id" FROM "workspaces" WHERE "name" = 'default'));
        EXCEPTION WHEN DUPLICATE_COLUMN THEN
          -- Do nothing, accept existing state
        END;
        $$;


      

        -- Ensure (id, ws_id) pair is unique
        DO $$
        BEGIN
          ALTER TABLE IF EXISTS ONLY "oauth2_authorization_codes" ADD CONSTRAINT "oauth2_authorization_codes_id_ws_id_unique" UNIQUE ("id", "ws_id");
        EXCEPTION WHEN DUPLICATE_TABLE THEN
          -- Do nothing, accept existing state
        END$$;

      

          -- Update foreign key relationship
          ALTER TABLE IF EXISTS ONLY "oauth2_authorization_codes" DROP CONSTRAINT IF EXISTS "oauth2_authorization_codes_service_id_fkey";

          DO $$
          BEGIN
            ALTER TABLE IF EXISTS ONLY "oauth2_authorization_codes"
                        ADD CONSTRAINT "oauth2_authorization_codes_service_id_fkey"
                           FOREIGN KEY ("service_id", "ws_id")
                            REFERENCES services("id", "ws_id") ON DELETE CASCADE;
          EXCEPTION WHEN DUPLICATE_OBJECT THEN
            -- Do nothing, accept existing state
          END$$;

      

          -- Update foreign key relationship
          ALTER TABLE IF EXISTS ONLY "oauth2_authorization_codes" DROP CONSTRAINT IF EXISTS "oauth2_authorization_codes_credential_id_fkey";

          DO $$
          BEGIN
            ALTER TABLE IF EXISTS ONLY "oauth2_authorization_codes"
                        ADD CONSTRAINT "oauth2_authorization_codes_credential_id_fkey"
                           FOREIGN KEY ("credential_id", "ws_id")
                            REFERENCES oauth2_credentials("id", "ws_id") ON DELETE CASCADE;
          EXCEPTION WHEN DUPLICATE_OBJECT THEN
            -- Do nothing, accept existing state
          END$$;

      

          -- Make 'oauth2_authorization_codes.code' unique per workspace
          ALTER TABLE IF EXISTS ONLY "oauth2_authorization_codes" DROP CONSTRAINT IF EXISTS "oauth2_authorization_codes_code_key";

          -- Ensure (ws_id, code) pair is unique
          DO $$
          BEGIN
            ALTER TABLE IF EXISTS ONLY "oauth2_authorization_codes" ADD CONSTRAINT "oauth2_authorization_codes_ws_id_code_unique" UNIQUE ("ws_id", "code");
          EXCEPTION WHEN DUPLICATE_TABLE THEN
            -- Do nothing, accept existing state
          END$$;

      

        -- Add ws_id to oauth2_tokens, populating all of them with the default workspace id
        DO $$
        BEGIN
          EXECUTE format('ALTER TABLE IF EXISTS ONLY "oauth2_tokens" ADD "ws_id" UUID REFERENCES "workspaces" ("id") DEFAULT %L',
                         (SELECT "id" FROM "workspaces" WHERE "name" = 'default'));
        EXCEPTION WHEN DUPLICATE_COLUMN THEN
          -- Do nothing, accept existing state
        END;
        $$;


      

        -- Ensure (id, ws_id) pair is unique
        DO $$
        BEGIN
          ALTER TABLE IF EXISTS ONLY "oauth2_tokens" ADD CONSTRAINT "oauth2_tokens_id_ws_id_unique" UNIQUE ("id", "ws_id");
        EXCEPTION WHEN DUPLICATE_TABLE THEN
          -- Do nothing, accept existing state
        END$$;

      

          -- Update foreign key relationship
          ALTER TABLE IF EXISTS ONLY "oauth2_tokens" DROP CONSTRAINT IF EXISTS "oauth2_tokens_service_id_fkey";

          DO $$
          BEGIN
            ALTER TABLE IF EXISTS ONLY "oauth2_tokens"
                        ADD CONSTRAINT "oauth2_tokens_service_id_fkey"
                           FOREIGN KEY ("service_id", "ws_id")
                            REFERENCES services("id", "ws_id") ON DELETE CASCADE;
          EXCEPTION WHEN DUPLICATE_OBJECT THEN
            -- Do nothing, accept existing state
          END$$;

      

          -- Update foreign key relationship
          ALTER TABLE IF EXISTS ONLY "oauth2_tokens" DROP CONSTRAINT IF EXISTS "oauth2_tokens_credential_id_fkey";

          DO $$
          BEGIN
            ALTER TABLE IF EXISTS ONLY "oauth2_tokens"
                        ADD CONSTRAINT "oauth2_tokens_credential_id_fkey"
                           FOREIGN KEY ("credential_id", "ws_id")
                            REFERENCES oauth2_credentials("id", "ws_id") ON DELETE CASCADE;
          EXCEPTION WHEN DUPLICATE_OBJECT THEN
            -- Do nothing, accept existing state
          END$$;

      

          -- Make 'oauth2_tokens.access_token' unique per workspace
          ALTER TABLE IF EXISTS ONLY "oauth2_tokens" DROP CONSTRAINT IF EXISTS "oauth2_tokens_access_token_key";

          -- Ensure (ws_id, access_token) pair is unique
          DO $$
          BEGIN
            ALTER TABLE IF EXISTS ONLY "oauth2_tokens" ADD CONSTRAINT "oauth2_tokens_ws_id_access_token_unique" UNIQUE ("ws_id", "access_token");
          EXCEPTION WHEN DUPLICATE_TABLE THEN
            -- Do nothing, accept existing state
          END$$;

      

          -- Make 'oauth2_tokens.refresh_token' unique per workspace
          ALTER TABLE IF EXISTS ONLY "oauth2_tokens" DROP CONSTRAINT IF EXISTS "oauth2_tokens_refresh_token_key";

          -- Ensure (ws_id, refresh_token) pair is unique
          DO $$
          BEGIN
            ALTER TABLE IF EXISTS ONLY "oauth2_tokens" ADD CONSTRAINT "oauth2_tokens_ws_id_refresh_token_unique" UNIQUE ("ws_id", "refresh_token");
          EXCEPTION WHEN DUPLICATE_TABLE THEN
            -- Do nothing, accept existing state
          END$$;
