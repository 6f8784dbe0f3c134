package managesieve

import (
	"errors"
	"strconv"
)

// name returns argument i as a script name: a string, valid by ValidName
// and within MaxNameLength.
func (c *conn) name(cmd *Command, i int) (string, error) {
	a := cmd.Args[i]
	if a.Atom {
		return "", syntaxError("Script name must be a string")
	}
	n := a.String()
	if !ValidName(n) || len(n) > orInt(c.srv.MaxNameLength, DefaultMaxNameLength) {
		return "", ErrInvalidName
	}
	return n, nil
}

// script returns argument i as script content.
func script(cmd *Command, i int) ([]byte, error) {
	a := cmd.Args[i]
	if a.Atom {
		return nil, syntaxError("Script must be a string")
	}
	return a.Value, nil
}

// check runs Server.Check: nil for a valid script, a *Warning for one
// with warnings, a checkError for an invalid one.
func (c *conn) check(content []byte) error {
	if c.srv.Check == nil {
		return nil
	}
	err := c.srv.Check(content)
	if err == nil {
		return nil
	}
	var w *Warning
	if errors.As(err, &w) {
		return w
	}
	text := err.Error()
	if text == "" {
		text = "Invalid script"
	}
	return checkError{text: text}
}

// okChecked answers a command whose script passed the check, with or
// without warnings.
func (c *conn) okChecked(warn error, text string) {
	var w *Warning
	if errors.As(warn, &w) {
		c.ok(CodeWarnings, "", w.Text)
		return
	}
	c.ok("", "", text)
}

func (c *conn) cmdHaveSpace(cmd *Command) error {
	if len(cmd.Args) != 2 || !cmd.Args[1].Atom {
		return errSyntax
	}
	name, err := c.name(cmd, 0)
	if err != nil {
		return err
	}
	size, ok := parseNumber(cmd.Args[1].Value)
	if !ok && !allDigits(cmd.Args[1].Value) {
		return syntaxError("Invalid number")
	}
	// A number beyond the range of RFC 5804 is a size beyond any limit,
	// as Dovecot answers it too.
	if !ok || size > c.lim.script {
		return ErrQuotaMaxSize
	}
	if err := c.store.HaveSpace(c.ctx, name, size); err != nil {
		return err
	}
	c.ok("", "", "Putscript would succeed")
	return nil
}

func (c *conn) cmdPutScript(cmd *Command) error {
	if len(cmd.Args) != 2 {
		return errSyntax
	}
	name, err := c.name(cmd, 0)
	if err != nil {
		return err
	}
	content, err := script(cmd, 1)
	if err != nil {
		return err
	}
	warn := c.check(content)
	if _, bad := warn.(checkError); bad {
		return warn
	}
	if err := c.store.Put(c.ctx, name, content); err != nil {
		return err
	}
	c.log().Info("managesieve: script stored", "user", c.info.Identity, "name", name, "size", len(content))
	c.okChecked(warn, "Script stored")
	return nil
}

func (c *conn) cmdCheckScript(cmd *Command) error {
	if len(cmd.Args) != 1 {
		return errSyntax
	}
	content, err := script(cmd, 0)
	if err != nil {
		return err
	}
	warn := c.check(content)
	if _, bad := warn.(checkError); bad {
		return warn
	}
	c.okChecked(warn, "Script is valid")
	return nil
}

func (c *conn) cmdListScripts(cmd *Command) error {
	if len(cmd.Args) != 0 {
		return errSyntax
	}
	list, err := c.store.List(c.ctx)
	if err != nil {
		return err
	}
	for _, s := range list {
		c.out = appendString(c.out, s.Name)
		if s.Active {
			c.out = append(c.out, " ACTIVE"...)
		}
		c.out = append(c.out, "\r\n"...)
		if len(c.out) >= maxPendingResponses {
			if c.flush() != nil {
				return nil
			}
		}
	}
	c.ok("", "", "Listscripts completed")
	return nil
}

func (c *conn) cmdSetActive(cmd *Command) error {
	if len(cmd.Args) != 1 {
		return errSyntax
	}
	name := ""
	if cmd.Args[0].Atom || len(cmd.Args[0].Value) > 0 {
		var err error
		if name, err = c.name(cmd, 0); err != nil {
			return err
		}
	}
	if err := c.store.SetActive(c.ctx, name); err != nil {
		return err
	}
	if name == "" {
		c.ok("", "", "Scripts deactivated")
	} else {
		c.ok("", "", "Script activated")
	}
	return nil
}

func (c *conn) cmdGetScript(cmd *Command) error {
	if len(cmd.Args) != 1 {
		return errSyntax
	}
	name, err := c.name(cmd, 0)
	if err != nil {
		return err
	}
	content, err := c.store.Get(c.ctx, name)
	if err != nil {
		return err
	}
	// Always a literal, as RFC 5804 section 2.9 shows it.
	c.out = append(c.out, '{')
	c.out = strconv.AppendInt(c.out, int64(len(content)), 10)
	c.out = append(c.out, "}\r\n"...)
	if len(content) > maxPendingResponses {
		if c.flush() != nil {
			return nil
		}
		if _, err := c.lc.Write(content); err != nil {
			c.closing = true
			return nil
		}
	} else {
		c.out = append(c.out, content...)
	}
	c.out = append(c.out, "\r\n"...)
	c.ok("", "", "Getscript completed")
	return nil
}

func (c *conn) cmdDeleteScript(cmd *Command) error {
	if len(cmd.Args) != 1 {
		return errSyntax
	}
	name, err := c.name(cmd, 0)
	if err != nil {
		return err
	}
	if err := c.store.Delete(c.ctx, name); err != nil {
		return err
	}
	c.ok("", "", "Script deleted")
	return nil
}

func (c *conn) cmdRenameScript(cmd *Command) error {
	if len(cmd.Args) != 2 {
		return errSyntax
	}
	oldName, err := c.name(cmd, 0)
	if err != nil {
		return err
	}
	newName, err := c.name(cmd, 1)
	if err != nil {
		return err
	}
	if err := c.store.Rename(c.ctx, oldName, newName); err != nil {
		return err
	}
	c.ok("", "", "Script renamed")
	return nil
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}
