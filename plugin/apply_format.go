package plugin

import (
	"strings"

	"github.com/docker/cli/cli/command/formatter"

	"github.com/docker-multiarch/docker-multiarch/driver"
)

// applyTable is `apply`'s default table: kind, name, action and what changes.
const applyTable = "table {{.Kind}}\t{{.Name}}\t{{.Action}}\t{{.Changes}}"

var applyHeader = formatter.SubHeaderContext{"Kind": "KIND", "Name": "NAME", "Action": "ACTION", "Changes": "CHANGES"}

func changeRow(c driver.FarmChange) formatter.SubContext { return &changeContext{c: c} }

// changeContext is an entry of a farm plan as `apply --format` templates see it; its JSON is the
// entry's (kind, name, action, changes).
type changeContext struct {
	formatter.HeaderContext
	c driver.FarmChange
}

func (c *changeContext) MarshalJSON() ([]byte, error) { return marshalJSON(c.c) }
func (c *changeContext) Kind() string                 { return c.c.Kind }
func (c *changeContext) Name() string                 { return c.c.Name }
func (c *changeContext) Action() string               { return c.c.Action }
func (c *changeContext) Changes() string              { return strings.Join(c.c.Changes, "; ") }
