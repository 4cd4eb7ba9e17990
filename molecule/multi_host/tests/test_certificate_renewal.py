"""The generated server certificate is issued again before it expires (issue 17, item 9): one
generated already near expiry is replaced on the next run, the server reloads it, and Django
still connects with verify-full; an unexpired one is left alone (changed=0). A rerun skips the
TLS tasks only where none would change anything (issue 18): a changed copy on the host and a
lost file on the controller are still made again."""

import datetime
import glob
import hashlib
import json
import os

import testinfra

from conftest import django_serves

CERT = "/etc/postgresql/15/main/djangodeploy-server.crt"
KEY = "/etc/postgresql/15/main/djangodeploy-server.key"
APP_CA = "/etc/opt/geodemo/postgresql-ca.crt"


def served_certificate(app, port=5432):
    """Serial and end date of the certificate the server (or PgBouncer, port 6432) presents to the app host."""
    return app.check_output(
        "openssl s_client -starttls postgres -connect djangodeploy-mh-db:%d </dev/null 2>/dev/null"
        " | openssl x509 -noout -serial -enddate" % port)


def days_left(db):
    end = db.check_output("openssl x509 -noout -enddate -in %s", CERT).split("=", 1)[1]
    expires = datetime.datetime.strptime(end, "%b %d %H:%M:%S %Y %Z")
    return (expires - datetime.datetime.utcnow()).days


def test_a_certificate_near_expiry_is_issued_again_and_an_unexpired_one_is_not(inventory, inventory_file, run_site):
    db, app = (testinfra.get_host("ansible://%s?ansible_inventory=%s" % (inventory[group]["hosts"][0], inventory_file))
               for group in ("dbservers", "appservers"))
    converged = served_certificate(app)
    assert days_left(db) > 800
    # Renewing 1000 days ahead with a 10-day lifetime: the run issues a certificate that
    # expires within the default 30 days, i.e. one near expiry.
    rc, output, _ = run_site(inventory_file, "-e", json.dumps({"postgresql_ssl_renew_days": 1000, "postgresql_ssl_days": 10}))
    assert rc == 0, output
    assert 8 <= days_left(db) <= 10
    near_expiry = served_certificate(app)
    assert near_expiry != converged, "the server still presents the old certificate: not reloaded"
    assert served_certificate(app, 6432) == near_expiry, "PgBouncer still presents the old certificate"
    django_serves(app, "geodemo")

    rc, output, recap = run_site(inventory_file)
    assert rc == 0, output
    assert days_left(db) > 800
    renewed = served_certificate(app)
    assert renewed not in (near_expiry, converged)
    assert recap["djangodeploy-mh-db"]["changed"] > 0, output
    django_serves(app, "geodemo")

    rc, output, recap = run_site(inventory_file)
    assert rc == 0, output
    assert {counts["changed"] for counts in recap.values()} == {0}, output
    assert served_certificate(app) == renewed


def test_a_changed_copy_on_the_host_and_a_lost_request_on_the_controller_are_made_again(inventory, inventory_file,
                                                                                        run_site):
    db, app = (testinfra.get_host("ansible://%s?ansible_inventory=%s" % (inventory[group]["hosts"][0], inventory_file))
               for group in ("dbservers", "appservers"))
    served = served_certificate(app)
    installed = db.check_output("sha1sum %s", CERT).split()[0]
    # The controller's generated files: the certificate the host has, and its signing request beside it.
    pki = inventory["_meta"]["hostvars"]["djangodeploy-mh-db"]["djangodeploy_pki_dir"]
    generated = [path for path in glob.glob(os.path.join(pki, "djangodeploy-mh-db-*.crt"))
                 if hashlib.sha1(open(path, "rb").read()).hexdigest() == installed]
    assert len(generated) == 1, generated
    request = generated[0][:-len(".crt")] + ".csr"
    os.remove(request)
    db.run("echo '# changed' >> %s && chmod 0640 %s", CERT, KEY)
    # and the CA that Django checks the server with, on the application server
    app.run("echo '# changed' >> %s", APP_CA)

    rc, output, recap = run_site(inventory_file)
    assert rc == 0, output
    assert recap["djangodeploy-mh-db"]["changed"] > 0, output
    assert os.path.exists(request)
    assert db.check_output("sha1sum %s", CERT).split()[0] == installed
    assert db.file(KEY).mode == 0o600
    ca = hashlib.sha1(open(os.path.join(pki, "ca.crt"), "rb").read()).hexdigest()
    assert app.check_output("sha1sum %s", APP_CA).split()[0] == ca
    # The same key and names: the request made again signs nothing new.
    assert served_certificate(app) == served
    django_serves(app, "geodemo")

    rc, output, recap = run_site(inventory_file)
    assert rc == 0, output
    assert {counts["changed"] for counts in recap.values()} == {0}, output
