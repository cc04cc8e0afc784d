# Objects this library references but does not own. They are declared only so that the
# foreign keys resolve; atlas.hcl excludes them, so no apply creates, alters or drops them.
# On a plain PostgreSQL, supabase/migrations/*_supabase_stand_ins.sql creates stand-ins.

schema "public" {
  comment = "standard public schema"
}

schema "auth" {
}

# Supabase Auth's table.
table "users" {
  schema = schema.auth
  column "id" {
    type = uuid
  }
  primary_key {
    columns = [column.id]
  }
}

# The host application's table.
table "stories" {
  schema = schema.public
  column "id" {
    type    = uuid
    default = sql("gen_random_uuid()")
  }
  column "display_name" {
    type = text
  }
  primary_key {
    columns = [column.id]
  }
}
