output "environment" {
  description = "The GitHub environment's name."
  value       = local.environment
}
