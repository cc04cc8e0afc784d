# Atlas environments. `pnpm db:*` fills the variables; run Atlas directly with
#   pnpm atlas schema apply --env local --var url=... --var dev_url=...

variable "url" {
  type    = string
  default = getenv("DATABASE_URL")
}

# A scratch database on the same server, emptied before each use by `pnpm db:*`.
variable "dev_url" {
  type    = string
  default = getenv("ATLAS_DEV_URL")
}

# The tables the host owns: declared in schema/host.pg.hcl so the foreign keys resolve,
# never created, altered or dropped by Atlas.
locals {
  schemas          = ["auth", "public"]
  host_owned       = ["auth.*", "public.stories"]
  migrations_dir   = "file://supabase/migrations"
  migration_format = "{{ sql . \"  \" }}"
}

env "local" {
  src     = "file://schema"
  url     = var.url
  dev     = var.dev_url
  schemas = local.schemas
  exclude = local.host_owned
  migration {
    dir = local.migrations_dir
  }
  format {
    migrate {
      diff = local.migration_format
    }
  }
}

# A Supabase project. Use the direct connection or the session pooler (port 5432), never the
# transaction pooler (port 6543): Atlas takes advisory locks that need a session.
#   SUPABASE_DB_URL=postgresql://postgres:<password>@db.<ref>.supabase.co:5432/postgres?sslmode=require
env "supabase" {
  src     = "file://schema"
  url     = getenv("SUPABASE_DB_URL")
  dev     = var.dev_url
  schemas = local.schemas
  exclude = local.host_owned
  migration {
    dir = local.migrations_dir
  }
  # The host's other tables live in public too: never plan to drop what this schema does not declare.
  diff {
    skip {
      drop_schema = true
      drop_table  = true
    }
  }
}
