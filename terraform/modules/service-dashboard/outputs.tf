output "url" {
  description = "Path of the dashboard in Datadog."
  value       = datadog_dashboard_json.this.url
}
