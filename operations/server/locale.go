package server

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/operations"
	"github.com/goinfra-dev/goinfra/operations/files"
)

// LocaleGen is the file of the locales locale-gen generates (Debian's).
const LocaleGen = "/etc/locale.gen"

var localeOp = operations.Op{
	Name:        "server.locale",
	Description: "generate or remove a locale of " + LocaleGen + " (locale-gen)",
	Args: []operations.Arg{
		{Name: "locale", Type: connector.String, Required: true, Description: "the locale as " + LocaleGen + " names it, e.g. en_GB.UTF-8"},
		{Name: "present", Type: connector.Bool, Default: true, Description: "whether it should be generated"},
	},
	Plan: planLocale,
}

var localeName = regexp.MustCompile(`^[A-Za-z0-9_.@-]+$`)

func planLocale(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
	locale := args.String("locale")
	if !localeName.MatchString(locale) {
		return nil, fmt.Errorf("locale: %q is not a locale name", locale)
	}
	have, err := Locales.Get(ctx, h)
	if err != nil {
		return nil, err
	}
	// The line of the locale, commented out or not: its name, then
	// white space and the charset.
	lines, err := files.FindInFile.Get(ctx, h, files.Grep{Path: LocaleGen, Pattern: `^.*` + locale + `[[:space:]]\+.*$`})
	if err != nil {
		return nil, err
	}
	switch {
	case len(lines) == 0:
		return nil, fmt.Errorf("locale %s not found in %s", locale, LocaleGen)
	case len(lines) > 1:
		return nil, fmt.Errorf("locale %s matches several lines of %s", locale, LocaleGen)
	}
	line := lines[0]
	present, generated := args.Bool("present"), slices.Contains(have, locale)
	var edited string
	switch {
	case present && !generated:
		edited = strings.ReplaceAll(line, "# ", "")
	case !present && generated:
		edited = line
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			edited = "# " + line
		}
	default:
		return &operations.Plan{}, nil
	}
	plan := &operations.Plan{}
	if edited != line {
		sub, err := operations.Inner(ctx, h, "files.line", map[string]any{
			"path": LocaleGen, "line": "^" + regexp.QuoteMeta(line) + "$", "replace": edited,
		})
		if err != nil {
			return nil, err
		}
		appendPlan(plan, sub)
	}
	// locale-gen makes the locales of the file, and removes the others.
	plan.Steps = append(plan.Steps, &operations.Command{Cmd: command.Args("locale-gen")})
	return plan, nil
}
