/**
 * Whether a Derby JDBC URL names a database behind the Derby Network Server
 * (`jdbc:derby://host:port/name`) rather than an embedded one (`jdbc:derby:/path`).
 * Shared: the policy rules refuse embedded databases in online schedules, and the
 * agent shuts a networked database down before restoring it.
 */
export function isDerbyNetworkUrl(url: string): boolean {
  return url.startsWith("jdbc:derby://");
}
