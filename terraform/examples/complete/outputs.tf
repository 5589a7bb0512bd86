# Where to push the image and what to watch.

output "ecr_repository_url" {
  description = "docker push <this>:<image_tag>"
  value       = module.healer.ecr_repository_url
}

output "state_machine_arn" {
  description = "The engine state machine."
  value       = module.healer.state_machine_arn
}

output "kill_switch_parameter_name" {
  description = "Set to \"false\" to stop all remediation."
  value       = module.healer.kill_switch_parameter_name
}

output "dashboard_url" {
  description = "The engine's CloudWatch dashboard."
  value       = module.healer.dashboard_url
}
