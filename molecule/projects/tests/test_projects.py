"""Two Django projects, shop and blog, on one database server and one application server
(issue 20): converge deployed shop with its inventory; these checks deploy blog with its own,
rerun both, run one inventory of both, upgrade shop in place from the old shared pg_hba.conf
block, and retire blog. They run in this order and share the hosts' state."""

import json
import pathlib
import shlex
import shutil

import pytest
import testinfra
import yaml

from conftest import manage, psql

HBA = "/etc/postgresql/15/main/pg_hba.conf"
CONF = "/etc/postgresql/15/main/conf.d/50-djangodeploy.conf"
WISHES = "/etc/postgresql/15/main/djangodeploy-projects"
LEGACY_BEGIN = "# BEGIN djangodeploy.postgresql: application servers"
BLOG_PASSWORD = "blog's Pass \"2\""
CALLBACKS = pathlib.Path(__file__).resolve().parents[1] / "callback_plugins"


@pytest.fixture(scope="module")
def hosts(inventory, inventory_file):
    def get(group):
        name = inventory[group]["hosts"][0]
        return testinfra.get_host("ansible://%s?ansible_inventory=%s" % (name, inventory_file))
    return {"db": get("dbservers"), "app": get("appservers")}


@pytest.fixture(scope="module")
def shop_password(hosts):
    return hosts["db"].ansible.get_variables()["django_db_password"]


@pytest.fixture(scope="module")
def inventories(inventory_file, tmp_path_factory, shop_password):
    """shop's inventory (the scenario's), blog's (a copy naming blog), and one of both projects."""
    source = pathlib.Path(inventory_file).parent

    def copy(name, change):
        target = tmp_path_factory.mktemp(name) / "inventory"
        shutil.copytree(source, target)
        group_vars = target / "group_vars" / "all"
        variables = yaml.safe_load(group_vars.read_text())
        change(variables)
        group_vars.write_text(yaml.safe_dump(variables))
        return target

    def both(variables):
        del variables["django_project"], variables["django_db_password"]
        variables["django_projects"] = [{"django_project": "shop", "django_db_password": shop_password},
                                        {"django_project": "blog", "django_db_password": BLOG_PASSWORD}]
    return {
        "shop": inventory_file,
        "blog": copy("blog", lambda v: v.update(django_project="blog", django_db_password=BLOG_PASSWORD)),
        "both": copy("both", both),
    }


def changed(recap):
    return {host: counts["changed"] for host, counts in recap.items()}


def converge(run_site, inventory, *args, **kwargs):
    rc, output, recap = run_site(inventory, *args, **kwargs)
    assert rc == 0, output
    return recap


def assert_works(app, project):
    """Django of the project is migrated and answers a query through its own connection."""
    check = manage(app, project, "migrate", "--check")
    assert check.rc == 0, check.stdout + check.stderr
    query = manage(app, project, "shell", "-c",
                   "from django.db import connection\n"
                   "from places.models import Note\n"
                   "c = connection.cursor(); c.execute('SELECT current_database(), current_user')\n"
                   "print(*c.fetchone(), Note.objects.count())")
    assert query.rc == 0, query.stderr
    assert query.stdout.split()[-3:] == [project, project, "0"]


def blocks(db):
    """pg_hba.conf's marked blocks: {marker: [lines]}."""
    found, current = {}, None
    for line in db.file(HBA).content_string.splitlines():
        if line.startswith("# BEGIN djangodeploy.postgresql: "):
            current = found.setdefault(line[len("# BEGIN djangodeploy.postgresql: "):], [])
        elif line.startswith("# END djangodeploy.postgresql: "):
            current = None
        elif current is not None:
            current.append(line)
    return found


def address(host):
    return host.ansible("setup", "filter=ansible_default_ipv4")["ansible_facts"]["ansible_default_ipv4"]["address"]


def connect(app, project, database):
    """Log in from the app host with the project's settings (its role and password), to any database."""
    code = ("import settings, psycopg2\n"
            "d = settings.DATABASES['default']\n"
            "psycopg2.connect(dbname=%r, user=d['USER'], password=d['PASSWORD'], host=d['HOST'],"
            " port=d['PORT'], **d['OPTIONS']).close()\n" % database)
    return app.run("runuser -u %s -- env PYTHONPATH=/etc/opt/%s:/opt/%s python3 -c %s",
                   project, project, project, code)


def probed_run(run_site, inventory, db, app, project, log, *args):
    """A site run that, before every task and handler, reloads PostgreSQL (what a run stopped
    there leaves is what the next reload applies) and logs whether project can connect."""
    command = ("docker exec %s pg_ctlcluster 15 main reload && sleep 0.2 && "
               "docker exec %s runuser -u %s -- env PYTHONPATH=/etc/opt/%s:/opt/%s python3 -c %s") % (
        db.backend.host, app.backend.host, project, project, project, shlex.quote(
            "import settings, psycopg2; d = settings.DATABASES['default']; "
            "psycopg2.connect(dbname=d['NAME'], user=d['USER'], password=d['PASSWORD'], host=d['HOST'], "
            "port=d['PORT'], **d['OPTIONS']).close()"))
    recap = converge(run_site, inventory, *args, env={
        "ANSIBLE_CALLBACK_PLUGINS": str(CALLBACKS), "ANSIBLE_CALLBACKS_ENABLED": "connectivity_probe",
        "PROBE_COMMAND": command, "PROBE_LOG": str(log)})
    probes = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(probes) > 50, probes  # every task of the run, not a few
    refused = [p for p in probes if p["rc"] != 0]
    assert not refused, "%s was locked out: %s" % (project, refused)
    return recap


def test_shop_alone_works(hosts):
    assert_works(hosts["app"], "shop")
    assert list(blocks(hosts["db"])) == ["project shop"]


def test_blog_deployed_with_its_own_inventory_leaves_shop_working(hosts, inventories, run_site):
    db, app = hosts["db"], hosts["app"]
    shop_block = blocks(db)["project shop"]
    converge(run_site, inventories["blog"])
    assert_works(app, "blog")
    assert_works(app, "shop")
    app_address = address(app)
    assert blocks(db) == {
        "project shop": shop_block,
        "project blog": ['hostssl "blog" "blog" %s/32 scram-sha-256' % app_address]}
    conf = db.file(CONF).content_string
    assert "# blog, shop." in conf
    assert "listen_addresses = 'localhost,%s'" % address(db) in conf
    assert psql(db, "SHOW max_connections") == "120"  # shop's wish, which blog's run kept
    assert sorted(db.file(WISHES).listdir()) == ["blog.json", "shop.json"]
    assert db.file(WISHES + "/blog.json").mode == 0o640


def test_reruns_of_either_project_change_nothing(hosts, inventories, run_site):
    for project in ("blog", "shop"):
        recap = converge(run_site, inventories[project])
        assert set(changed(recap).values()) == {0}, (project, recap)


def test_a_projects_role_cannot_reach_the_other_projects_database(hosts):
    app = hosts["app"]
    for project, other in (("shop", "blog"), ("blog", "shop")):
        assert connect(app, project, project).rc == 0
        knock = connect(app, project, other)
        assert knock.rc != 0
        assert "no pg_hba.conf entry" in knock.stderr, knock.stderr


def test_a_projects_role_cannot_connect_to_the_other_database_even_on_the_db_host(hosts, shop_password):
    # Debian's own pg_hba.conf lets every role in over localhost: the database's CONNECT privilege
    # is what keeps shop out of blog's database there.
    db = hosts["db"]
    ok = db.run("PGPASSWORD=%s psql -XAt -h localhost -U shop -d shop -c 'SELECT 1'", shop_password)
    assert ok.rc == 0, ok.stderr
    knock = db.run("PGPASSWORD=%s psql -XAt -h localhost -U shop -d blog -c 'SELECT 1'", shop_password)
    assert knock.rc != 0
    assert "permission denied for database" in knock.stderr, knock.stderr


def test_a_conflicting_setting_stops_with_both_projects_named(hosts, inventories, run_site):
    db = hosts["db"]
    wish = db.file(WISHES + "/blog.json").content_string
    conf = db.file(CONF).content_string
    rc, output, recap = run_site(inventories["blog"], "-e", json.dumps({"postgresql_settings": {"max_connections": 150}}))
    assert rc != 0, output
    assert "max_connections: project blog wants 150, project shop wants 120" in output
    assert set(changed(recap).values()) == {0}, output
    assert db.file(WISHES + "/blog.json").content_string == wish
    assert db.file(CONF).content_string == conf


def test_a_run_limited_to_the_database_server_changes_nothing(inventories, run_site):
    # Issue 17 item 11: the app server's facts are not gathered by the limited run.
    recap = converge(run_site, inventories["shop"], "--limit", "dbservers")
    assert list(recap) == ["djangodeploy-pr-db"] and set(changed(recap).values()) == {0}, recap


def test_a_limited_run_refuses_when_an_app_servers_address_cannot_be_known(inventories, run_site, tmp_path):
    ghostly = tmp_path / "inventory"
    shutil.copytree(pathlib.Path(inventories["shop"]).parent, ghostly)
    hosts_file = ghostly / pathlib.Path(inventories["shop"]).name
    listed = yaml.safe_load(hosts_file.read_text())
    listed["appservers"]["hosts"]["djangodeploy-pr-ghost"] = {"ansible_connection": "community.docker.docker"}
    hosts_file.write_text(yaml.safe_dump(listed))
    rc, output, recap = run_site(ghostly, "--limit", "dbservers")
    assert rc != 0, output
    assert "No address is known for some of the application servers" in output
    assert set(changed(recap).values()) == {0}, output


def test_one_inventory_of_both_projects_gives_what_two_inventories_gave(hosts, inventories, run_site):
    db = hosts["db"]
    before = (db.file(HBA).content_string, db.file(CONF).content_string)
    rc, output, recap = run_site(inventories["both"])
    assert rc == 0, output
    assert set(changed(recap).values()) == {0}, output
    assert "(item=shop)" in output and "(item=blog)" in output
    assert (db.file(HBA).content_string, db.file(CONF).content_string) == before


def test_upgrade_from_the_old_shared_block_locks_nobody_out(hosts, inventories, run_site, tmp_path):
    db, app = hosts["db"], hosts["app"]
    shop_line = blocks(db)["project shop"]
    # shop as the previous release left it: the one shared block, no block or wishes of its own.
    text = db.file(HBA).content_string
    begin, end = "# BEGIN djangodeploy.postgresql: project shop\n", "# END djangodeploy.postgresql: project shop\n"
    text = text.split(begin)[0] + text.split(end)[1]
    text = text.replace("# BEGIN djangodeploy.postgresql: project blog",
                        "%s\n%s\n# END djangodeploy.postgresql: application servers\n"
                        "# BEGIN djangodeploy.postgresql: project blog" % (LEGACY_BEGIN, shop_line[0]))
    db.run("printf '%%s' %s > %s", text, HBA)
    db.run("rm %s/shop.json && systemctl reload postgresql@15-main", WISHES)
    assert LEGACY_BEGIN in db.file(HBA).content_string and "project shop" not in db.file(HBA).content_string
    assert_works(app, "shop")
    # blog's run must leave shop's old block alone: it is not blog's.
    converge(run_site, inventories["blog"])
    assert LEGACY_BEGIN in db.file(HBA).content_string
    assert_works(app, "shop")
    # shop's run moves shop to its own block, checked before every task and handler.
    probed_run(run_site, inventories["shop"], db, app, "shop", tmp_path / "shop-run.log")
    assert LEGACY_BEGIN not in db.file(HBA).content_string
    assert blocks(db)["project shop"] == shop_line
    assert sorted(db.file(WISHES).listdir()) == ["blog.json", "shop.json"]
    assert_works(app, "shop")
    assert_works(app, "blog")


def test_retiring_blog_leaves_shop_untouched(hosts, inventories, run_site):
    db, app = hosts["db"], hosts["app"]
    shop_block, shop_wish = blocks(db)["project shop"], db.file(WISHES + "/shop.json").content_string
    retire = json.dumps({"django_project_state": "absent", "django_project_drop_database": True})
    dumps_before = set(db.run("ls /var/backups/postgresql/retired").stdout.split())
    converge(run_site, inventories["blog"], "-e", retire)
    assert blocks(db) == {"project shop": shop_block}
    assert db.file(WISHES).listdir() == ["shop.json"]
    assert db.file(WISHES + "/shop.json").content_string == shop_wish
    assert "# shop." in db.file(CONF).content_string
    assert psql(db, "SELECT count(*) FROM pg_database WHERE datname = 'blog'") == "0"
    assert psql(db, "SELECT count(*) FROM pg_roles WHERE rolname = 'blog'") == "0"
    dumps = sorted(set(db.check_output("ls /var/backups/postgresql/retired").split()) - dumps_before)
    assert len(dumps) == 1 and dumps[0].startswith("pg_dump-blog-retired-"), dumps
    assert "CREATE DATABASE blog" in db.check_output("cat /var/backups/postgresql/retired/%s", dumps[0])
    assert not app.file("/etc/opt/blog").exists
    assert app.file("/opt/blog/venv/bin/python").exists  # the code is the deployment's, and stays
    assert_works(app, "shop")
    recap = converge(run_site, inventories["blog"], "-e", retire)
    assert set(changed(recap).values()) == {0}, recap
