package weak

import "strings"

// credentialPair is a username and a password.
type credentialPair struct {
	username, password string
}

// defaultPairs are credentials that devices and software ship with or
// that their installation guides suggest. Scanners try them before
// anything else, so an account still using one is the first to fall
// whatever its zxcvbn score. Usernames are lower case because vendors
// and users capitalise them freely; passwords are compared exactly.
var defaultPairs = map[credentialPair]struct{}{
	// Routers, cameras, NAS boxes and web admin panels.
	{"admin", "admin"}:      {},
	{"admin", "password"}:   {},
	{"admin", "1234"}:       {},
	{"admin", "12345"}:      {},
	{"admin", "123456"}:     {},
	{"admin", "changeme"}:   {},
	{"admin", "admin123"}:   {},
	{"admin", "default"}:    {},
	{"admin", "pass"}:       {},
	{"admin", "adminadmin"}: {},
	{"admin", "pfsense"}:    {},
	{"admin", "ADMIN"}:      {},

	// Unix-like systems, appliances and development boxes.
	{"root", "root"}:       {},
	{"root", "toor"}:       {},
	{"root", "password"}:   {},
	{"root", "admin"}:      {},
	{"root", "changeme"}:   {},
	{"root", "12345"}:      {},
	{"root", "default"}:    {},
	{"root", "calvin"}:     {},
	{"root", "opnsense"}:   {},
	{"pi", "raspberry"}:    {},
	{"ubnt", "ubnt"}:       {},
	{"vagrant", "vagrant"}: {},
	{"kali", "kali"}:       {},
	{"cisco", "cisco"}:     {},

	// Generic accounts left behind by installers and demos.
	{"administrator", "password"}: {},
	{"administrator", "admin"}:    {},
	{"user", "user"}:              {},
	{"user", "password"}:          {},
	{"guest", "guest"}:            {},
	{"test", "test"}:              {},
	{"demo", "demo"}:              {},
	{"support", "support"}:        {},
	{"manager", "manager"}:        {},
	{"operator", "operator"}:      {},
	{"service", "service"}:        {},
	{"ftp", "ftp"}:                {},
	{"anonymous", "anonymous"}:    {},

	// Databases, application servers and their consoles.
	{"tomcat", "tomcat"}:         {},
	{"tomcat", "s3cret"}:         {},
	{"elastic", "changeme"}:      {},
	{"kibana", "changeme"}:       {},
	{"postgres", "postgres"}:     {},
	{"oracle", "oracle"}:         {},
	{"scott", "tiger"}:           {},
	{"system", "manager"}:        {},
	{"sys", "change_on_install"}: {},
	{"sa", "sa"}:                 {},
	{"weblogic", "weblogic"}:     {},
	{"weblogic", "welcome1"}:     {},
	{"cassandra", "cassandra"}:   {},
	{"neo4j", "neo4j"}:           {},
	{"minioadmin", "minioadmin"}: {},
	{"airflow", "airflow"}:       {},
	{"admin", "zabbix"}:          {},
}

// longestDefaultUsername spares lower-casing a username that cannot be
// in defaultPairs.
var longestDefaultUsername = func() int {
	n := 0
	for p := range defaultPairs {
		n = max(n, len(p.username))
	}
	return n
}()

// isDefaultPair reports whether username, in any case, and password are
// one of the defaultPairs.
func isDefaultPair(username, password string) bool {
	if len(username) > longestDefaultUsername {
		return false
	}
	_, ok := defaultPairs[credentialPair{strings.ToLower(username), password}]
	return ok
}
