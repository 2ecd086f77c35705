-- ca_certificates table
        ALTER TABLE IF EXISTS ONLY ca_certificates DROP CONSTRAINT IF EXISTS ca_certificates_cert_key;

        DO $$
          BEGIN
            ALTER TABLE IF EXISTS ONLY ca_certificates ADD COLUMN "cert_digest" TEXT UNIQUE;
          EXCEPTION WHEN duplicate_column THEN
            -- Do nothing, accept existing state
          END;
        $$;

        DO $$
          BEGIN
            ALTER TABLE IF EXISTS ONLY services ADD COLUMN "tls_verify" BOOLEAN;
          EXCEPTION WHEN duplicate_column THEN
            -- Do nothing, accept existing state
          END;
        $$;

        -- add certificates reference to upstreams table
        DO $$
          BEGIN
            ALTER TABLE IF EXISTS ONLY "upstreams" ADD "client_certificate_id" UUID REFERENCES "certificates" ("id");
          EXCEPTION WHEN DUPLICATE_COLUMN THEN
            -- Do nothing, accept existing state
          END;
        $$;

        DO $$
          BEGIN
            ALTER TABLE IF EXISTS ONLY services ADD COLUMN "tls_verify_depth" SMALLINT;
          EXCEPTION WHEN duplicate_column THEN
            -- Do nothing, accept existing state
          END;
        $$;

        DO $$
          BEGIN
            ALTER TABLE IF EXISTS ONLY services ADD COLUMN "ca_certificates" UUID[];
          EXCEPTION WHEN duplicate_column THEN
            -- Do nothing, accept existing state
          END;
        $$;

        DO $$
          BEGIN
            CREATE INDEX IF NOT EXISTS "upstreams_fkey_client_certificate" ON "upstreams" ("client_certificate_id");
          EXCEPTION WHEN UNDEFINED_COLUMN THEN
            -- Do nothing, accept existing state
        END$$;
    
        CREATE TABLE IF NOT EXISTS "workspaces" (
          "id"         UUID                       PRIMARY KEY,
          "name"       TEXT                       UNIQUE,
          "comment"    TEXT,
          "created_at" TIMESTAMP WITH TIME ZONE   DEFAULT (CURRENT_TIMESTAMP(0) AT TIME ZONE 'UTC'),
          "meta"       JSONB,
          "config"     JSONB
        );

        -- Create default workspace
        INSERT INTO workspaces(id, name)
        VALUES (overlay(overlay(md5(random()::text || clock_timestamp()::text) placing '4' from 13) placing '8' from 17)::uuid, 'default') ON CONFLICT DO NOTHING;

      
        -- Add ws_id to upstreams, populating all of them with the default workspace id
        DO $$
        BEGIN
          EXECUTE format('ALTER TABLE IF EXISTS ONLY "upstreams" ADD "ws_id" UUID REFERENCES "workspaces" ("id") DEFAULT %L',
                         (SELECT "id" FROM "workspaces" WHERE "name" = 'default'));
        EXCEPTION WHEN DUPLICATE_COLUMN THEN
          -- Do nothing, accept existing state
        END;
        $$;


      

        -- Ensure (id, ws_id) pair is unique
        DO $$
        BEGIN
          ALTER TABLE IF EXISTS ONLY "upstreams" ADD CONSTRAINT "upstreams_id_ws_id_unique" UNIQUE ("id", "ws_id");
        EXCEPTION WHEN DUPLICATE_TABLE THEN
          -- Do nothing, accept existing state
        END$$;

      

          -- Make 'upstreams.name' unique per workspace
          ALTER TABLE IF EXISTS ONLY "upstreams" DROP CONSTRAINT IF EXISTS "upstreams_name_key";

          -- Ensure (ws_id, name) pair is unique
          DO $$
          BEGIN
            ALTER TABLE IF EXISTS ONLY "upstreams" ADD CONSTRAINT "upstreams_ws_id_name_unique" UNIQUE ("ws_id", "name");
          EXCEPTION WHEN DUPLICATE_TABLE THEN
            -- Do nothing, accept existing state
          END$$;

      

        -- Add ws_id to targets, populating all of them with the default workspace id
        DO $$
        BEGIN
          EXECUTE format('ALTER TABLE IF EXISTS ONLY "targets" ADD "ws_id" UUID REFERENCES "workspaces" ("id") DEFAULT %L',
                         (SELECT "id" FROM "workspaces" WHERE "name" = 'default'));
        EXCEPTION WHEN DUPLICATE_COLUMN THEN
          -- Do nothing, accept existing state
        END;
        $$;


      

        -- Ensure (id, ws_id) pair is unique
        DO $$
        BEGIN
          ALTER TABLE IF EXISTS ONLY "targets" ADD CONSTRAINT "targets_id_ws_id_unique" UNIQUE ("id", "ws_id");
        EXCEPTION WHEN DUPLICATE_TABLE THEN
          -- Do nothing, accept existing state
        END$$;

      

          -- Update foreign key relationship
          ALTER TABLE IF EXISTS ONLY "targets" DROP CONSTRAINT IF EXISTS "targets_upstream_id_fkey";

          DO $$
          BEGIN
            ALTER TABLE IF EXISTS ONLY "targets"
                        ADD CONSTRAINT "targets_upstream_id_fkey"
                           FOREIGN KEY ("upstream_id", "ws_id")
                            REFERENCES upstreams("id", "ws_id") ON DELETE CASCADE;
          EXCEPTION WHEN DUPLICATE_OBJECT THEN
            -- Do nothing, accept existing state
          END$$;

      

        -- Add ws_id to consumers, populating all of them with the default workspace id
        DO $$
        BEGIN
          EXECUTE format('ALTER TABLE IF EXISTS ONLY "consumers" ADD "ws_id" UUID REFERENCES "workspaces" ("id") DEFAULT %L',
                         (SELECT "id" FROM "workspaces" WHERE "name" = 'default'));
        EXCEPTION WHEN DUPLICATE_COLUMN THEN
          -- Do nothing, accept existing state
        END;
        $$;


      

        -- Ensure (id, ws_id) pair is unique
        DO $$
        BEGIN
          ALTER TABLE IF EXISTS ONLY "consumers" ADD CONSTRAINT "consumers_id_ws_id_unique" UNIQUE ("id", "ws_id");
        EXCEPTION WHEN DUPLICATE_TABLE THEN
          -- Do nothing, accept existing state
        END$$;

      

          -- Make 'consumers.username' unique per workspace
          ALTER TABLE IF EXISTS ONLY "consumers" DROP CONSTRAINT IF EXISTS "consumers_username_key";

          -- Ensure (ws_id, username) pair is unique
          DO $$
          BEGIN
            ALTER TABLE IF EXISTS ONLY "consumers" ADD CONSTRAINT "consumers_ws_id_username_unique" UNIQUE ("ws_id", "username");
          EXCEPTION WHEN DUPLICATE_TABLE THEN
            -- Do nothing, accept existing state
          END$$;

      

          -- Make 'consumers.custom_id' unique per workspace
          ALTER TABLE IF EXISTS ONLY "consumers" DROP CONSTRAINT IF EXISTS "consumers_custom_id_key";

          -- Ensure (ws_id, custom_id) pair is unique
          DO $$
          BEGIN
            ALTER TABLE IF EXISTS ONLY "consumers" ADD CONSTRAINT "consumers_ws_id_custom_id_unique" UNIQUE ("ws_id", "custom_id");
          EXCEPTION WHEN DUPLICATE_TABLE THEN
            -- Do nothing, accept existing state
          END$$;

      

        -- Add ws_id to certificates, populating all of them with the default workspace id
        DO $$
        BEGIN
          EXECUTE format('ALTER TABLE IF EXISTS ONLY "certificates" ADD "ws_id" UUID REFERENCES "workspaces" ("id") DEFAULT %L',
                         (SELECT "id" FROM "workspaces" WHERE "name" = 'default'));
        EXCEPTION WHEN DUPLICATE_COLUMN THEN
          -- Do nothing, accept existing state
        END;
        $$;


      

        -- Ensure (id, ws_id) pair is unique
        DO $$
        BEGIN
          ALTER TABLE IF EXISTS ONLY "certificates" ADD CONSTRAINT "certificates_id_ws_id_unique" UNIQUE ("id", "ws_id");
        EXCEPTION WHEN DUPLICATE_TABLE THEN
          -- Do nothing, accept existing state
        END$$;

      

        -- Add ws_id to snis, populating all of them with the default workspace id
        DO $$
        BEGIN
          EXECUTE format('ALTER TABLE IF EXISTS ONLY "snis" ADD "ws_id" UUID REFERENCES "workspaces" ("id") DEFAULT %L',
                         (SELECT "id" FROM "workspaces" WHERE "name" = 'default'));
        EXCEPTION WHEN DUPLICATE_COLUMN THEN
          -- Do nothing, accept existing state
        END;
        $$;


      

        -- Ensure (id, ws_id) pair is unique
        DO $$
        BEGIN
          ALTER TABLE IF EXISTS ONLY "snis" ADD CONSTRAINT "snis_id_ws_id_unique" UNIQUE ("id", "ws_id");
        EXCEPTION WHEN DUPLICATE_TABLE THEN
          -- Do nothing, accept existing state
        END$$;

      

          -- Update foreign key relationship
          ALTER TABLE IF EXISTS ONLY "snis" DROP CONSTRAINT IF EXISTS "snis_certificate_id_fkey";

          DO $$
          BEGIN
            ALTER TABLE IF EXISTS ONLY "snis"
                        ADD CONSTRAINT "snis_certificate_id_fkey"
                           FOREIGN KEY ("certificate_id", "ws_id")
                            REFERENCES certificates("id", "ws_id") ;
          EXCEPTION WHEN DUPLICATE_OBJECT THEN
            -- Do nothing, accept existing state
          END$$;

      

        -- Add ws_id to services, populating all of them with the default workspace id
        DO $$
        BEGIN
          EXECUTE format('ALTER TABLE IF EXISTS ONLY "services" ADD "ws_id" UUID REFERENCES "workspaces" ("id") DEFAULT %L',
                         (SELECT "id" FROM "workspaces" WHERE "name" = 'default'));
        EXCEPTION WHEN DUPLICATE_COLUMN THEN
          -- Do nothing, accept existing state
        END;
        $$;


      

        -- Ensure (id, ws_id) pair is unique
        DO $$
        BEGIN
          ALTER TABLE IF EXISTS ONLY "services" ADD CONSTRAINT "services_id_ws_id_unique" UNIQUE ("id", "ws_id");
        EXCEPTION WHEN DUPLICATE_TABLE THEN
          -- Do nothing, accept existing state
        END$$;

      

          -- Update foreign key relationship
          ALTER TABLE IF EXISTS ONLY "services" DROP CONSTRAINT IF EXISTS "services_client_certificate_id_fkey";

          DO $$
          BEGIN
            ALTER TABLE IF EXISTS ONLY "services"
                        ADD CONSTRAINT "services_client_certificate_id_fkey"
                           FOREIGN KEY ("client_certificate_id", "ws_id")
                            REFERENCES certificates("id", "ws_id") ;
          EXCEPTION WHEN DUPLICATE_OBJECT THEN
            -- Do nothing, accept existing state
          END$$;

      

          -- Make 'services.name' unique per workspace
          ALTER TABLE IF EXISTS ONLY "services" DROP CONSTRAINT IF EXISTS "services_name_key";

          -- Ensure (ws_id, name) pair is unique
          DO $$
          BEGIN
            ALTER TABLE IF EXISTS ONLY "services" ADD CONSTRAINT "services_ws_id_name_unique" UNIQUE ("ws_id", "name");
          EXCEPTION WHEN DUPLICATE_TABLE THEN
            -- Do nothing, accept existing state
          END$$;

      

        -- Add ws_id to routes, populating all of them with the default workspace id
        DO $$
        BEGIN
          EXECUTE format('ALTER TABLE IF EXISTS ONLY "routes" ADD "ws_id" UUID REFERENCES "workspaces" ("id") DEFAULT %L',
                         (SELECT "id" FROM "workspaces" WHERE "name" = 'default'));
        EXCEPTION WHEN DUPLICATE_COLUMN THEN
          -- Do nothing, accept existing state
        END;
        $$;


      

        -- Ensure (id, ws_id) pair is unique
        DO $$
        BEGIN
          ALTER TABLE IF EXISTS ONLY "routes" ADD CONSTRAINT "routes_id_ws_id_unique" UNIQUE ("id", "ws_id");
        EXCEPTION WHEN DUPLICATE_TABLE THEN
          -- Do nothing, accept existing state
        END$$;

      

          -- Update foreign key relationship
          ALTER TABLE IF EXISTS ONLY "routes" DROP CONSTRAINT IF EXISTS "routes_service_id_fkey";

          DO $$
          BEGIN
            ALTER TABLE IF EXISTS ONLY "routes"
                        ADD CONSTRAINT "routes_service_id_fkey"
                           FOREIGN KEY ("service_id", "ws_id")
                            REFERENCES services("id", "ws_id") ;
          EXCEPTION WHEN DUPLICATE_OBJECT THEN
            -- Do nothing, accept existing state
          END$$;

      

          -- Make 'routes.name' unique per workspace
          ALTER TABLE IF EXISTS ONLY "routes" DROP CONSTRAINT IF EXISTS "routes_name_key";

          -- Ensure (ws_id, name) pair is unique
          DO $$
          BEGIN
            ALTER TABLE IF EXISTS ONLY "routes" ADD CONSTRAINT "routes_ws_id_name_unique" UNIQUE ("ws_id", "name");
          EXCEPTION WHEN DUPLICATE_TABLE THEN
            -- Do nothing, accept existing state
          END$$;

      

        -- Add ws_id to plugins, populating all of them with the default workspace id
        DO $$
        BEGIN
          EXECUTE format('ALTER TABLE IF EXISTS ONLY "plugins" ADD "ws_id" UUID REFERENCES "workspaces" ("id") DEFAULT %L',
                         (SELECT "id" FROM "workspaces" WHERE "name" = 'default'));
        EXCEPTION WHEN DUPLICATE_COLUMN THEN
          -- Do nothing, accept existing state
        END;
        $$;


      

        -- Ensure (id, ws_id) pair is unique
        DO $$
        BEGIN
          ALTER TABLE IF EXISTS ONLY "plugins" ADD CONSTRAINT "plugins_id_ws_id_unique" UNIQUE ("id", "ws_id");
        EXCEPTION WHEN DUPLICATE_TABLE THEN
          -- Do nothing, accept existing state
        END$$;

      

          -- Update foreign key relationship
          ALTER TABLE IF EXISTS ONLY "plugins" DROP CONSTRAINT IF EXISTS "plugins_route_id_fkey";

          DO $$
          BEGIN
            ALTER TABLE IF EXISTS ONLY "plugins"
                        ADD CONSTRAINT "plugins_route_id_fkey"
                           FOREIGN KEY ("route_id", "ws_id")
                            REFERENCES routes("id", "ws_id") ON DELETE CASCADE;
          EXCEPTION WHEN DUPLICATE_OBJECT THEN
            -- Do nothing, accept existing state
          END$$;

      

          -- Update foreign key relationship
          ALTER TABLE IF EXISTS ONLY "plugins" DROP CONSTRAINT IF EXISTS "plugins_service_id_fkey";

          DO $$
          BEGIN
            ALTER TABLE IF EXISTS ONLY "plugins"
                        ADD CONSTRAINT "plugins_service_id_fkey"
                           FOREIGN KEY ("service_id", "ws_id")
                            REFERENCES services("id", "ws_id") ON DELETE CASCADE;
          EXCEPTION WHEN DUPLICATE_OBJECT THEN
            -- Do nothing, accept existing state
          END$$;

      

          -- Update foreign key relationship
          ALTER TABLE IF EXISTS ONLY "plugins" DROP CONSTRAINT IF EXISTS "plugins_consumer_id_fkey";

          DO $$
          BEGIN
            ALTER TABLE IF EXISTS ONLY "plugins"
                        ADD CONSTRAINT "plugins_consumer_id_fkey"
                           FOREIGN KEY ("consumer_id", "ws_id")
                            REFERENCES consumers("id", "ws_id") ON DELETE CASCADE;
          EXCEPTION WHEN DUPLICATE_OBJECT THEN
            -- Do nothing, accept existing state
          END$$;
