package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/identity"
)

// admin runs the account commands for first set-up and scripts:
//
//	guyub admin create --email E --password P [--name N] [--role admin]
//	guyub admin token  --email E --name N --scopes read,write
func (p program) admin(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("admin needs a command: create or token")
	}
	switch args[0] {
	case "create":
		return p.adminCreate(ctx, args[1:])
	case "token":
		return p.adminToken(ctx, args[1:])
	}
	return fmt.Errorf("unknown admin command %q; commands: create, token", args[0])
}

// adminCreate creates an account, or promotes an existing one: it adds the role and, when
// given, sets the password. Running it twice changes nothing more.
func (p program) adminCreate(ctx context.Context, args []string) error {
	var email, password, name, role string
	cfg, err := loadConfig("guyub admin create", args, p.environ, p.stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&email, "email", "", "email of the account (required)")
		fs.StringVar(&password, "password", "", `password to set (required for a new account); "-" reads it from standard input, keeping it out of the shell history`)
		fs.StringVar(&name, "name", "", "display name of a new account")
		fs.StringVar(&role, "role", "admin", "role to grant: customer, moderator, product or admin")
	})
	if err != nil {
		return err
	}
	if password == "-" {
		line, err := bufio.NewReader(p.stdin).ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("--password -: reading standard input: %w", err)
		}
		password = strings.TrimRight(line, "\r\n")
	}
	r, ok := customers.ParseRole(role)
	if !ok {
		return fmt.Errorf("--role: unknown role %q", role)
	}
	if strings.TrimSpace(email) == "" {
		return errors.New("--email is required")
	}
	svc, err := openServices(ctx, cfg, cfg.logger(p.stderr), true)
	if err != nil {
		return err
	}
	defer svc.close()

	c, err := svc.customers.FindByEmail(ctx, email)
	switch {
	case errors.Is(err, customers.ErrNotFound):
		if password == "" {
			return errors.New("--password is required for a new account")
		}
		if name == "" {
			name, _, _ = strings.Cut(email, "@")
		}
		c, err = svc.identity.CreateAccount(ctx, identity.SignUp{Email: email, DisplayName: name, Password: password}, true)
		if err != nil {
			return describe(svc, err)
		}
		fmt.Fprintf(p.stdout, "created %s\n", c.Email)
	case err != nil:
		return err
	case password != "":
		if err := svc.identity.SetPassword(ctx, c.ID, password); err != nil {
			return describe(svc, err)
		}
		fmt.Fprintf(p.stdout, "password set for %s\n", c.Email)
	}
	if !c.HasOwnRole(r) {
		if err := svc.customers.SetRoles(ctx, c.ID, append(c.Roles, r)); err != nil {
			return err
		}
	}
	fmt.Fprintf(p.stdout, "%s has the %s role\n", c.Email, r)
	return nil
}

// adminToken prints a new API token for a staff account.
func (p program) adminToken(ctx context.Context, args []string) error {
	var email, name, scopes string
	cfg, err := loadConfig("guyub admin token", args, p.environ, p.stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&email, "email", "", "email of the staff account (required)")
		fs.StringVar(&name, "name", "", "what the token is for (required)")
		fs.StringVar(&scopes, "scopes", "read", "comma-separated scopes: read, write")
	})
	if err != nil {
		return err
	}
	svc, err := openServices(ctx, cfg, cfg.logger(p.stderr), true)
	if err != nil {
		return err
	}
	defer svc.close()
	c, err := svc.customers.FindByEmail(ctx, email)
	if err != nil {
		return fmt.Errorf("--email %s: no such account", email)
	}
	secret, _, err := svc.identity.CreateToken(ctx, c, identity.NewToken{Name: name, Scopes: identity.ParseScopes(scopes)})
	if err != nil {
		return describe(svc, err)
	}
	fmt.Fprintln(p.stdout, secret)
	return nil
}

// describe turns a service's error into one English line for the terminal.
func describe(svc *services, err error) error {
	return errors.New(svc.catalog.Describe("en", err))
}
