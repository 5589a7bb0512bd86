# The guard's circuit breaker and the audit trail (docs/ACTIVITIES.md).
#
# breaker: one item per "<resource id>#<hour bucket>", incremented with a
# conditional UpdateItem; expires_at (epoch seconds) lets DynamoDB TTL
# delete old buckets. TTL is housekeeping only: the hour bucket in the key
# already resets the count. It also keeps the guard's event claims and
# blast-radius state, and remediate-sg's rollback plans ("sgplan#...", one
# per execution, written before the security group is changed).
#
# audit: one item per record, hash "execution" / range "at", and the GSI
# resource-index ("resource" / "at") to list what was done to a resource.
# Point-in-time recovery and deletion protection: it is the evidence.

resource "aws_dynamodb_table" "breaker" {
  name         = "${var.name}-breaker"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"

  attribute {
    name = "pk"
    type = "S"
  }

  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  server_side_encryption {
    enabled = true
  }

  tags = local.tags
}

resource "aws_dynamodb_table" "audit" {
  name                        = "${var.name}-audit"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "execution"
  range_key                   = "at"
  deletion_protection_enabled = var.audit_deletion_protection

  attribute {
    name = "execution"
    type = "S"
  }

  attribute {
    name = "at"
    type = "S"
  }

  attribute {
    name = "resource"
    type = "S"
  }

  global_secondary_index {
    name            = "resource-index"
    hash_key        = "resource"
    range_key       = "at"
    projection_type = "ALL"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true
  }

  tags = local.tags
}
