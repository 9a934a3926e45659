package hdf5

import (
	"sort"
	"strings"
)

// Object is a Group or a Dataset.
type Object interface {
	// Path is the object's path from the root, as it was reached ("/a/b").
	Path() string
	// Attrs returns the object's attributes in the order they are stored.
	Attrs() ([]*Attribute, error)
	// Attr returns the attribute called name; the error wraps ErrNotFound
	// when there is none.
	Attr(name string) (*Attribute, error)
}

type objectBase struct {
	f       *File
	path    string
	addr    uint64
	attrs   []*Attribute
	attrErr error
}

func (o *objectBase) Path() string { return o.path }

// Addr is the file address of the object's header: two paths with the same
// Addr are hard links to one object.
func (o *objectBase) Addr() uint64 { return o.addr }

// Attrs and Attr hand out copies: the parsed attributes are shared by
// every path that reaches the object, and each copy carries its own path
// for error messages.
func (o *objectBase) Attrs() ([]*Attribute, error) {
	if o.attrErr != nil {
		return nil, withPath(o.attrErr, o.path)
	}
	out := make([]*Attribute, len(o.attrs))
	for i, a := range o.attrs {
		c := *a
		c.path = o.path
		out[i] = &c
	}
	return out, nil
}

func (o *objectBase) Attr(name string) (*Attribute, error) {
	if o.attrErr != nil {
		return nil, withPath(o.attrErr, o.path)
	}
	for _, a := range o.attrs {
		if a.Name == name {
			c := *a
			c.path = o.path
			return &c, nil
		}
	}
	return nil, notFound(o.path, "no attribute %q", name)
}

// Group is an HDF5 group: named links to other objects.
type Group struct {
	objectBase
	links []link // sorted by name
}

// Dataset is an HDF5 dataset: a shaped array of elements of one Datatype.
type Dataset struct {
	objectBase
	space   dataspace
	dtype   Datatype
	layout  layout
	filters []filter
	fill    []byte
	extErr  error // the dataset uses a feature that stops its data being read
}

type cachedObject struct {
	obj Object // *Group or *Dataset with no path
	err error
}

// openObject returns the *Group or *Dataset whose header is at addr, as
// reached by path. Objects are parsed once per address: a file with many
// hard links to one object costs one parse.
func (f *File) openObject(addr uint64, path string) (Object, error) {
	f.mu.Lock()
	c, ok := f.objects[addr]
	f.mu.Unlock()
	if !ok {
		obj, err := f.parseObject(addr)
		c = cachedObject{obj, err}
		f.mu.Lock()
		f.objects[addr] = c
		f.mu.Unlock()
	}
	if c.err != nil {
		return nil, withPath(c.err, path)
	}
	switch o := c.obj.(type) {
	case *Group:
		g := *o
		g.path = path
		return &g, nil
	case *Dataset:
		d := *o
		d.path = path
		return &d, nil
	}
	return nil, withPath(formatErr("object header", addr, "unknown object"), path)
}

// parseObject reads the object header at addr. Its errors carry no path.
func (f *File) parseObject(addr uint64) (Object, error) {
	oh, err := f.readObjectHeader(addr)
	if err != nil {
		return nil, err
	}
	base := objectBase{f: f, addr: addr}
	var (
		isDataset, isGroup bool
		hasType, hasSpace  bool
		symtab             *message
		linkInfo           *message
		d                  = &Dataset{}
		links              []link
	)
	for i := range oh.msgs {
		m := &oh.msgs[i]
		if m.flags&msgFlagShared != 0 {
			switch m.typ {
			case msgDatatype, msgDataspace, msgFill, msgFillOld, msgFilters, msgAttribute:
				return nil, unsupported("object header", addr, "shared (committed) message of type 0x%x is not supported", m.typ)
			}
		}
		switch m.typ {
		case msgDataspace:
			if d.space, err = f.parseDataspace(m.data, m.addr); err != nil {
				return nil, err
			}
			hasSpace = true
		case msgDatatype:
			if d.dtype, err = f.parseDatatype(m.data, m.addr); err != nil {
				return nil, err
			}
			hasType = true
		case msgLayout:
			if d.layout, err = f.parseLayout(m.data, m.addr); err != nil {
				d.extErr = err
			}
			isDataset = true
		case msgFilters:
			if d.filters, err = f.parseFilters(m.data, m.addr); err != nil {
				d.extErr = err
			}
		case msgFill:
			fill, err := f.parseFill(m.data, m.addr)
			if err != nil {
				return nil, err
			}
			if fill != nil {
				d.fill = fill
			}
		case msgFillOld:
			if d.fill == nil {
				d.fill = f.parseFillOld(m.data)
			}
		case msgExternal:
			d.extErr = unsupported("object header", addr, "data in external files is not supported")
		case msgSymbolTable:
			symtab = m
			isGroup = true
		case msgLinkInfo:
			linkInfo = m
			isGroup = true
		case msgLink:
			l, err := f.parseLink(m.data, m.addr)
			if err != nil {
				return nil, err
			}
			links = append(links, l)
			isGroup = true
		case msgAttribute:
			a, err := f.parseAttribute(m.data, m.addr)
			if err != nil {
				if base.attrErr == nil {
					base.attrErr = err
				}
				continue
			}
			base.attrs = append(base.attrs, a)
		case msgAttrInfo:
			heap, err := f.parseAttrInfo(m.data, m.addr)
			if err == nil && heap != undefAddr {
				err = unsupported("object header", addr, "dense attribute storage (fractal heap) is not supported")
			}
			if err != nil && base.attrErr == nil {
				base.attrErr = err
			}
		default:
			if m.flags&msgFlagFailIfUnknown != 0 && m.typ > msgAttrInfo+2 {
				return nil, unsupported("object header", addr, "unknown message type 0x%x marked must-understand", m.typ)
			}
		}
	}
	switch {
	case isDataset:
		if !hasType || !hasSpace {
			return nil, formatErr("object header", addr, "dataset without a datatype or dataspace message")
		}
		d.objectBase = base
		return d, nil
	case isGroup:
		g := &Group{objectBase: base}
		if symtab != nil {
			p := f.cursor(symtab.data)
			btree, heap := p.addr(), p.addr()
			if p.err != nil {
				return nil, formatErr("symbol table message", symtab.addr, "truncated")
			}
			if g.links, err = f.readSymbolTable(btree, heap); err != nil {
				return nil, err
			}
		} else {
			if linkInfo != nil {
				heap, err := f.parseLinkInfo(linkInfo.data, linkInfo.addr)
				if err != nil {
					return nil, err
				}
				if heap != undefAddr {
					return nil, unsupported("object header", addr, "dense link storage (fractal heap) is not supported")
				}
			}
			g.links = links
		}
		sort.SliceStable(g.links, func(i, j int) bool { return g.links[i].name < g.links[j].name })
		for i := 1; i < len(g.links); i++ {
			if g.links[i].name == g.links[i-1].name {
				return nil, formatErr("object header", addr, "two links named %q", g.links[i].name)
			}
		}
		return g, nil
	case hasType:
		return nil, unsupported("object header", addr, "committed datatype objects are not supported")
	}
	return nil, formatErr("object header", addr, "neither a group nor a dataset (no links, no data layout)")
}

// Members returns the names of the group's links in byte order of name.
func (g *Group) Members() []string {
	out := make([]string, len(g.links))
	for i, l := range g.links {
		out[i] = l.name
	}
	return out
}

func (g *Group) link(name string) (link, bool) {
	i := sort.Search(len(g.links), func(i int) bool { return g.links[i].name >= name })
	if i < len(g.links) && g.links[i].name == name {
		return g.links[i], true
	}
	return link{}, false
}

// Has reports whether the group has a link called name.
func (g *Group) Has(name string) bool {
	_, ok := g.link(name)
	return ok
}

const maxSoftLinkHops = 16

// Open returns the object at path: a member name or a slash-separated path
// relative to g ("dense/kernel:0"), or an absolute path ("/model_weights").
// Soft links are followed; external links are not supported.
func (g *Group) Open(path string) (Object, error) {
	return g.f.resolve(g, path, new(int))
}

// Group opens the group at path (see Open).
func (g *Group) Group(path string) (*Group, error) {
	obj, err := g.Open(path)
	if err != nil {
		return nil, err
	}
	sub, ok := obj.(*Group)
	if !ok {
		return nil, &Error{Path: obj.Path(), Addr: undefAddr, Detail: "is a dataset, not a group", Err: ErrNotFound}
	}
	return sub, nil
}

// Dataset opens the dataset at path (see Open).
func (g *Group) Dataset(path string) (*Dataset, error) {
	obj, err := g.Open(path)
	if err != nil {
		return nil, err
	}
	d, ok := obj.(*Dataset)
	if !ok {
		return nil, &Error{Path: obj.Path(), Addr: undefAddr, Detail: "is a group, not a dataset", Err: ErrNotFound}
	}
	return d, nil
}

func joinPath(dir, name string) string {
	if dir == "/" {
		return "/" + name
	}
	return dir + "/" + name
}

func (f *File) resolve(start *Group, path string, hops *int) (Object, error) {
	cur := start
	if strings.HasPrefix(path, "/") {
		root, err := f.Root()
		if err != nil {
			return nil, err
		}
		cur = root
	}
	var parts []string
	for _, s := range strings.Split(path, "/") {
		if s != "" && s != "." {
			parts = append(parts, s)
		}
	}
	var obj Object = cur
	for i, name := range parts {
		if i > 0 {
			g, ok := obj.(*Group)
			if !ok {
				return nil, &Error{Path: obj.Path(), Addr: undefAddr, Detail: "is a dataset, not a group", Err: ErrNotFound}
			}
			cur = g
		}
		if name == ".." {
			return nil, &Error{Path: cur.path, Addr: undefAddr, Detail: "\"..\" in paths is not supported", Err: ErrUnsupported}
		}
		l, ok := cur.link(name)
		if !ok {
			return nil, notFound(cur.path, "no member %q", name)
		}
		child := joinPath(cur.path, name)
		var err error
		switch l.kind {
		case linkHard:
			obj, err = f.openObject(l.addr, child)
		case linkSoft:
			*hops++
			if *hops > maxSoftLinkHops {
				return nil, &Error{Path: child, Addr: undefAddr, Detail: "more than 16 soft links followed (a cycle?)", Err: ErrFormat}
			}
			obj, err = f.resolve(cur, l.target, hops)
		case linkExternal:
			return nil, &Error{Path: child, Addr: undefAddr, Detail: "external link to " + l.target + " is not supported", Err: ErrUnsupported}
		default:
			return nil, &Error{Path: child, Addr: undefAddr, Detail: "user-defined link types are not supported", Err: ErrUnsupported}
		}
		if err != nil {
			return nil, err
		}
	}
	return obj, nil
}

// Walk calls fn for every object below g, depth first, members in name
// order, with the object's path. It descends into each group once even
// when hard links reach it by several paths (so cycles end), and does not
// follow soft or external links. An error from opening an object, or from
// fn, stops the walk and is returned.
func (g *Group) Walk(fn func(path string, obj Object) error) error {
	seen := map[uint64]bool{g.addr: true}
	return g.walk(fn, seen, 0)
}

const maxWalkDepth = 1 << 10

func (g *Group) walk(fn func(string, Object) error, seen map[uint64]bool, depth int) error {
	if depth > maxWalkDepth {
		return &Error{Path: g.path, Addr: undefAddr, Detail: "groups nested deeper than 1024", Err: ErrFormat}
	}
	for _, l := range g.links {
		if l.kind != linkHard {
			continue
		}
		child := joinPath(g.path, l.name)
		obj, err := g.f.openObject(l.addr, child)
		if err != nil {
			return err
		}
		if err := fn(child, obj); err != nil {
			return err
		}
		if sub, ok := obj.(*Group); ok && !seen[l.addr] {
			seen[l.addr] = true
			if err := sub.walk(fn, seen, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}
