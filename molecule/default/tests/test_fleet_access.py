"""What the default scenario adds to the shared checks: it reached its host the way fleets are
reached (SSH as an unprivileged user with sudo, Ansible's default of no pipelining), and the
site playbook alone installed the backup timer."""
import os


def test_converged_over_ssh_as_an_unprivileged_user_without_pipelining(host, ansible_vars):
    assert ansible_vars["ansible_connection"] == "ansible.builtin.ssh"
    assert ansible_vars["ansible_user"] == "deploy"
    assert os.environ.get("ANSIBLE_PIPELINING") == "False"
    # deploy is no superuser: only sudo makes it one.
    assert host.run("id -u deploy").stdout.strip() != "0"
    assert host.run("runuser -u deploy -- sudo -n true").rc == 0


def test_acl_is_installed_for_becoming_unprivileged_users(host):
    assert host.package("acl").is_installed


def test_site_playbook_installed_the_backup_timer(host):
    assert host.run("systemctl is-enabled postgresql-backup.timer").stdout.strip() == "enabled"
    assert host.run("systemctl is-active postgresql-backup.timer").stdout.strip() == "active"
    assert host.file("/usr/local/lib/djangodeploy/postgresql-backup").mode == 0o755
