// vcsim for virtsnap's ESX driver tests: govmomi's simulator (Debian's
// golang-github-vmware-govmomi-dev ships the package but not its vcsim main).
// Starts the ESX or VPX model on 127.0.0.1, an ephemeral port, TLS with
// httptest's generated localhost certificate and fixed credentials, prints
// one line "URL <url>" on stdout and serves until stdin closes or a signal.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"github.com/vmware/govmomi/simulator"
)

func main() {
	model := flag.String("model", "esx", "esx or vpx")
	listen := flag.String("l", "127.0.0.1:0", "listen address")
	user := flag.String("username", "user", "login user")
	pass := flag.String("password", "pass", "login password")
	flag.Parse()

	var m *simulator.Model
	switch *model {
	case "esx":
		m = simulator.ESX()
	case "vpx":
		m = simulator.VPX()
	default:
		fmt.Fprintf(os.Stderr, "unknown model %q\n", *model)
		os.Exit(2)
	}
	if err := m.Create(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer m.Remove()

	m.Service.TLS = new(tls.Config)
	m.Service.Listen = &url.URL{Host: *listen, User: url.UserPassword(*user, *pass)}
	s := m.Service.NewServer()
	defer s.Close()

	u := *s.URL
	u.User = nil
	fmt.Printf("URL %s\n", u.String())
	os.Stdout.Sync()

	done := make(chan struct{})
	go func() {
		// The parent holds our stdin: when it goes away, so do we.
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(done)
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case <-done:
	case <-sig:
	}
}
