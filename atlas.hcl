# Atlas environments. Use them through `pnpm db:apply | db:diff | db:migrate | db:drift`, which
# fill the variables and prepare the scratch databases (see scripts/lib/schema-workflow.ts).
#
# Why two kinds of environment: the Atlas CLI built here (v0.13.1) applies `exclude` to
# inspected databases but not to HCL. schema/ declares the host's tables (auth.users,
# public.stories) as stubs so the foreign keys resolve; were the HCL compared with the target
# directly, Atlas would plan to create or reshape them. So `schema` builds schema/ into a
# scratch database, and `local`/`supabase` compare the target with that database, with the
# host's tables excluded on both sides.

variable "url" {
  type    = string
  default = getenv("DATABASE_URL")
}

# A scratch database on the same server (or on ATLAS_DEV_URL's), emptied before each use.
variable "dev_url" {
  type    = string
  default = getenv("ATLAS_DEV_URL")
}

# The scratch database holding schema/ as built by the `schema` environment.
variable "desired_url" {
  type    = string
  default = ""
}

locals {
  schemas        = ["auth", "public"]
  host_owned     = ["auth.*", "public.stories"]
  migrations_dir = "file://supabase/migrations"
}

# schema/ itself, built into a scratch database (after the stand-ins, whose guarded migration
# creates the stubs, so no other migration contains them); its migration dir is where
# `atlas migrate hash | validate` look.
env "schema" {
  src     = "file://schema"
  url     = var.url
  dev     = var.dev_url
  schemas = local.schemas
  migration {
    dir = local.migrations_dir
  }
}

# A PostgreSQL you run (DATABASE_URL; default: the local database story_tasks).
env "local" {
  src     = var.desired_url
  url     = var.url
  dev     = var.dev_url
  schemas = local.schemas
  exclude = local.host_owned
  migration {
    dir = local.migrations_dir
  }
  # The host's other tables live in public too: never plan to drop what schema/ does not declare.
  diff {
    skip {
      drop_schema = true
      drop_table  = true
    }
  }
}

# A Supabase project (SUPABASE_DB_URL). Use the direct connection or the session pooler
# (port 5432), never the transaction pooler (port 6543): Atlas holds advisory locks, which
# need a session.
#   SUPABASE_DB_URL=postgresql://postgres:<password>@db.<project-ref>.supabase.co:5432/postgres?sslmode=require
env "supabase" {
  src     = var.desired_url
  url     = getenv("SUPABASE_DB_URL")
  dev     = var.dev_url
  schemas = local.schemas
  exclude = local.host_owned
  migration {
    dir = local.migrations_dir
  }
  # The host's other tables live in public too: never plan to drop what schema/ does not declare.
  diff {
    skip {
      drop_schema = true
      drop_table  = true
    }
  }
}
