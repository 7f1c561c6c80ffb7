/** What k3s writes to /output/kubeconfig.yaml (client-go key order and style), for tests of what k3ts makes of it. */
export function k3sKubeconfig(data: { ca: string; cert: string; key: string; server?: string }): string {
  return `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: ${data.ca}
    server: ${data.server ?? "https://127.0.0.1:6443"}
  name: default
contexts:
- context:
    cluster: default
    user: default
  name: default
current-context: default
kind: Config
preferences: {}
users:
- name: default
  user:
    client-certificate-data: ${data.cert}
    client-key-data: ${data.key}
`;
}
