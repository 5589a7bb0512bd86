# The example root's own version constraints (the module has the same).
terraform {
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
