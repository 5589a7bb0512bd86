# Versions this module is written and checked against.
terraform {
  # optional() object attributes (1.3), lifecycle preconditions and check
  # blocks (1.5).
  required_version = ">= 1.5.0"

  required_providers {
    # The major version of the schema tests/infra checks every resource
    # against (terraform/.schema/aws-provider-schema.json, AWS provider 6.x).
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }
}
