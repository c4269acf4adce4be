"""A Tk-free stand-in for Python's `turtle` module that records the drawing as SVG.

Programs written for `turtle` run unchanged: `import turtle` inside the sandbox gets this module. Movement follows
the standard module's geometry (headings in degrees counter-clockwise from east, `circle` drawn as the same regular
polygon, y up), pen and fill state are kept per turtle, and `done()`/`mainloop()` return at once. At the end,
`to_svg()` gives the picture: the view is the drawing's bounding box joined with the central 400 x 400 window, so
nothing drawn is cut off and a small drawing keeps its scale.

This file is copied into the sandbox and imported there on its own: it uses the standard library only.

>>> reset()
>>> t = Turtle()
>>> for _ in range(4):
...     t.forward(100)
...     t.left(90)
>>> [abs(round(c, 6)) for c in t.position()]
[0.0, 0.0]
>>> len(drawing_elements())
1
"""

from __future__ import annotations

import math

_NAMED = {
    "black": "#000000",
    "white": "#ffffff",
    "red": "#ff0000",
    "green": "#00ff00",
    "blue": "#0000ff",
    "yellow": "#ffff00",
    "orange": "#ffa500",
    "purple": "#a020f0",
    "brown": "#a52a2a",
    "pink": "#ffc0cb",
    "gray": "#bebebe",
    "grey": "#bebebe",
}

_state: dict = {}


def reset() -> None:
    """Forget every turtle and element: a fresh screen (called before each program)."""
    _state.clear()
    _state.update(elements=[], background="#ffffff", turtles=[], default=None, colormode=1.0, world=None)


reset()


def _emit(element: tuple) -> None:
    """Add an element after every turtle's open line, so the picture keeps the order things were drawn in."""
    for turtle in _state["turtles"]:
        turtle._flush()
    _state["elements"].append(element)


def _color(value) -> str:
    """An SVG colour from what turtle accepts: a name, '#rrggbb', or an (r, g, b) tuple in the colour mode."""
    if isinstance(value, str):
        return _NAMED.get(value.lower().replace(" ", ""), value)
    if isinstance(value, (tuple, list)) and len(value) == 3:
        scale = 255.0 / _state["colormode"]
        r, g, b = (max(0, min(255, round(float(c) * scale))) for c in value)
        return f"#{r:02x}{g:02x}{b:02x}"
    raise ValueError(f"bad color: {value!r}")


def _color_args(args) -> str:
    return _color(args[0] if len(args) == 1 else tuple(args))


class Vec2D(tuple):
    """A 2-D vector, as turtle.Vec2D (positions are returned as this)."""

    def __new__(cls, x, y):
        return tuple.__new__(cls, (float(x), float(y)))

    def __add__(self, other):
        return Vec2D(self[0] + other[0], self[1] + other[1])

    def __sub__(self, other):
        return Vec2D(self[0] - other[0], self[1] - other[1])

    def __mul__(self, other):
        if isinstance(other, Vec2D):
            return self[0] * other[0] + self[1] * other[1]
        return Vec2D(self[0] * other, self[1] * other)

    __rmul__ = __mul__

    def __neg__(self):
        return Vec2D(-self[0], -self[1])

    def __abs__(self):
        return math.hypot(self[0], self[1])

    def __repr__(self):
        return f"({self[0]:.2f},{self[1]:.2f})"


class Turtle:
    """One pen: position, heading, pen state and fill, drawing into the shared screen."""

    def __init__(self, *args, **kwargs) -> None:
        self._pos = Vec2D(0.0, 0.0)
        self._heading = 0.0
        self._down = True
        self._width = 1.0
        self._pencolor = "#000000"
        self._fillcolor = "#000000"
        self._visible = True
        self._fill_path: list | None = None
        self._line: list | None = None
        self._full = 360.0
        _state["turtles"].append(self)

    # --- movement ---------------------------------------------------------------------------------------------
    def _go_to(self, target) -> None:
        target = Vec2D(*target)
        if self._down:
            if self._line is None:
                self._line = [self._pos]
            self._line.append(target)
        if self._fill_path is not None:
            self._fill_path.append(target)
        self._pos = target

    def _flush(self) -> None:
        if self._line is not None and len(self._line) > 1:
            _state["elements"].append(("line", tuple(self._line), self._pencolor, self._width))
        self._line = None

    def forward(self, distance) -> None:
        angle = math.radians(self._heading)
        self._go_to(self._pos + Vec2D(math.cos(angle), math.sin(angle)) * float(distance))

    def backward(self, distance) -> None:
        self.forward(-float(distance))

    def left(self, angle) -> None:
        self._heading = (self._heading + float(angle) * 360.0 / self._full) % 360.0

    def right(self, angle) -> None:
        self.left(-float(angle))

    def goto(self, x, y=None) -> None:
        self._go_to((x[0], x[1]) if y is None else (x, y))

    def setx(self, x) -> None:
        self._go_to((x, self._pos[1]))

    def sety(self, y) -> None:
        self._go_to((self._pos[0], y))

    def setheading(self, angle) -> None:
        self._heading = (float(angle) * 360.0 / self._full) % 360.0

    def home(self) -> None:
        self._go_to((0.0, 0.0))
        self._heading = 0.0

    def circle(self, radius, extent=None, steps=None) -> None:
        """A regular polygon inscribed in the arc, as turtle draws it (centre `radius` to the turtle's left)."""
        radius = float(radius)
        extent = self._full if extent is None else float(extent)
        if steps is None:
            fraction = abs(extent) / self._full
            steps = 1 + int(min(11 + abs(radius) / 6.0, 59.0) * fraction)
        steps = max(1, int(steps))
        turn = extent / steps
        half = turn / 2.0
        chord = 2.0 * radius * math.sin(math.radians(half * 360.0 / self._full))
        if radius < 0:
            chord, turn, half = -chord, -turn, -half
        self.left(half)
        for _ in range(steps):
            self.forward(chord)
            self.left(turn)
        self.left(-half)

    def dot(self, size=None, *color) -> None:
        diameter = float(size) if size is not None else max(self._width + 4, 2 * self._width)
        fill = _color_args(color) if color else self._pencolor
        _emit(("dot", self._pos, diameter / 2.0, fill))

    def write(self, arg, move=False, align="left", font=("Arial", 8, "normal")) -> None:
        size = font[1] if isinstance(font, (tuple, list)) and len(font) > 1 else 8
        _emit(("text", self._pos, str(arg), self._pencolor, float(size), align))

    def stamp(self) -> int:
        return 0

    # --- state queries ----------------------------------------------------------------------------------------
    def position(self) -> Vec2D:
        return self._pos

    def xcor(self) -> float:
        return self._pos[0]

    def ycor(self) -> float:
        return self._pos[1]

    def heading(self) -> float:
        return self._heading * self._full / 360.0

    def towards(self, x, y=None) -> float:
        target = Vec2D(*(x if y is None else (x, y)))
        delta = target - self._pos
        return (math.degrees(math.atan2(delta[1], delta[0])) % 360.0) * self._full / 360.0

    def distance(self, x, y=None) -> float:
        return abs(Vec2D(*(x if y is None else (x, y))) - self._pos)

    def degrees(self, fullcircle=360.0) -> None:
        self._full = float(fullcircle)

    def radians(self) -> None:
        self._full = 2 * math.pi

    # --- pen --------------------------------------------------------------------------------------------------
    def penup(self) -> None:
        self._flush()
        self._down = False

    def pendown(self) -> None:
        self._down = True

    def isdown(self) -> bool:
        return self._down

    def pensize(self, width=None):
        if width is None:
            return self._width
        self._flush()
        self._width = float(width)

    def pencolor(self, *args):
        if not args:
            return self._pencolor
        self._flush()
        self._pencolor = _color_args(args)

    def fillcolor(self, *args):
        if not args:
            return self._fillcolor
        self._fillcolor = _color_args(args)

    def color(self, *args):
        if not args:
            return self._pencolor, self._fillcolor
        if len(args) == 2 and not all(isinstance(a, (int, float)) for a in args):
            self.pencolor(args[0])
            self.fillcolor(args[1])
        else:
            self.pencolor(*args)
            self.fillcolor(*args)

    def begin_fill(self) -> None:
        self._flush()
        self._fill_path = [self._pos]
        self._fill_index = len(_state["elements"])

    def end_fill(self) -> None:
        if self._fill_path is not None and len(self._fill_path) > 2:
            self._flush()
            # The fill goes under the outline drawn while filling, as on turtle's canvas.
            _state["elements"].insert(self._fill_index, ("fill", tuple(self._fill_path), self._fillcolor))
        self._fill_path = None

    def filling(self) -> bool:
        return self._fill_path is not None

    def fill(self, flag=None):
        if flag is None:
            return self.filling()
        if flag:
            self.begin_fill()
        else:
            self.end_fill()

    def pen(self, pen=None, **settings):
        settings.update(pen or {})
        if "pendown" in settings:
            (self.pendown if settings["pendown"] else self.penup)()
        if "pencolor" in settings:
            self.pencolor(settings["pencolor"])
        if "fillcolor" in settings:
            self.fillcolor(settings["fillcolor"])
        if "pensize" in settings:
            self.pensize(settings["pensize"])
        return {"pendown": self._down, "pencolor": self._pencolor, "fillcolor": self._fillcolor}

    def showturtle(self) -> None:
        self._visible = True

    def hideturtle(self) -> None:
        self._visible = False

    def isvisible(self) -> bool:
        return self._visible

    def clear(self) -> None:
        self._line = None

    def reset(self) -> None:
        self.__init__()

    def getscreen(self):
        return Screen()

    def _noop(self, *args, **kwargs):
        return None

    speed = shape = shapesize = turtlesize = tilt = settiltangle = tiltangle = onclick = onrelease = _noop
    ondrag = undo = setundobuffer = resizemode = _noop
    fd, bk, back, lt, rt = forward, backward, backward, left, right
    setpos = setposition = goto
    seth = setheading
    pos = position
    pu = up = penup
    pd = down = pendown
    width = pensize
    st = showturtle
    ht = hideturtle


RawTurtle = RawPen = Pen = Turtle


class _Screen:
    """The one screen: background, world coordinates; event and animation calls do nothing."""

    def bgcolor(self, *args):
        if not args:
            return _state["background"]
        _state["background"] = _color_args(args)

    def colormode(self, mode=None):
        if mode is None:
            return _state["colormode"]
        _state["colormode"] = float(mode)

    def setworldcoordinates(self, llx, lly, urx, ury) -> None:
        _state["world"] = (float(llx), float(lly), float(urx), float(ury))

    def window_width(self) -> int:
        return 400

    def window_height(self) -> int:
        return 400

    def turtles(self) -> list:
        return list(_state["turtles"])

    def _noop(self, *args, **kwargs):
        return None

    setup = title = tracer = update = delay = listen = onkey = onkeypress = onkeyrelease = onclick = _noop
    onscreenclick = ontimer = mainloop = done = exitonclick = bye = screensize = register_shape = _noop
    addshape = clear = clearscreen = resetscreen = bgpic = mode = _noop


_screen = _Screen()


def Screen() -> _Screen:  # noqa: N802 - the standard module's name
    return _screen


def _default() -> Turtle:
    if _state["default"] is None:
        _state["default"] = Turtle()
    return _state["default"]


_TURTLE_FUNCTIONS = [name for name in dir(Turtle) if not name.startswith("_") and callable(getattr(Turtle, name))]
_SCREEN_FUNCTIONS = ["bgcolor", "colormode", "setworldcoordinates", "window_width", "window_height", "setup", "title"]
_SCREEN_FUNCTIONS += ["tracer", "update", "delay", "listen", "onkey", "onkeypress", "onscreenclick", "ontimer"]
_SCREEN_FUNCTIONS += ["mainloop", "done", "exitonclick", "bye", "screensize", "register_shape", "addshape", "bgpic"]


def _module_function(name: str):
    def call(*args, **kwargs):
        return getattr(_default(), name)(*args, **kwargs)

    call.__name__ = name
    return call


def _screen_function(name: str):
    def call(*args, **kwargs):
        return getattr(_screen, name)(*args, **kwargs)

    call.__name__ = name
    return call


for _name in _TURTLE_FUNCTIONS:
    if _name not in ("reset", "clear"):
        globals()[_name] = _module_function(_name)
for _name in _SCREEN_FUNCTIONS:
    globals()[_name] = _screen_function(_name)
getturtle = getpen = _default


def clearscreen() -> None:
    reset()


resetscreen = clearscreen


class Terminator(Exception):
    """Raised by the standard module when its window closes; never raised here."""


class TurtleGraphicsError(Exception):
    """The standard module's error type, for programs that catch it."""


def drawing_elements() -> list:
    """Everything drawn so far, in order (open lines included)."""
    for turtle in _state["turtles"]:
        turtle._flush()
    return list(_state["elements"])


def _bounds(elements) -> tuple[float, float, float, float]:
    xs, ys = [-200.0, 200.0], [-200.0, 200.0]
    for element in elements:
        if element[0] in ("line", "fill"):
            xs += [p[0] for p in element[1]]
            ys += [p[1] for p in element[1]]
        elif element[0] == "dot":
            (x, y), r = element[1], element[2]
            xs += [x - r, x + r]
            ys += [y - r, y + r]
        else:
            xs.append(element[1][0])
            ys.append(element[1][1])
    finite_x = [x for x in xs if math.isfinite(x)]
    finite_y = [y for y in ys if math.isfinite(y)]
    return min(finite_x), min(finite_y), max(finite_x), max(finite_y)


def to_svg(size: int = 256) -> str:
    """The drawing as an SVG document of `size` x `size` pixels (y flipped: turtle's y points up)."""
    elements = drawing_elements()
    if _state["world"] is not None:
        x0, y0, x1, y1 = _state["world"]
    else:
        x0, y0, x1, y1 = _bounds(elements)
        side = max(x1 - x0, y1 - y0) * 1.05
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        x0, x1, y0, y1 = cx - side / 2, cx + side / 2, cy - side / 2, cy + side / 2
    width, height = max(x1 - x0, 1e-9), max(y1 - y0, 1e-9)

    def point(p) -> str:
        return f"{(p[0] - x0) / width * size:.2f},{(y1 - p[1]) / height * size:.2f}"

    scale = size / max(width, height)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" viewBox="0 0 {size} {size}">',
        f'<rect width="{size}" height="{size}" fill="{_state["background"]}"/>',
    ]
    for element in elements:
        kind = element[0]
        if kind == "line":
            _, points, color, pen = element
            coordinates = " ".join(point(p) for p in points if math.isfinite(p[0]) and math.isfinite(p[1]))
            parts.append(
                f'<polyline points="{coordinates}" fill="none" stroke="{color}" '
                f'stroke-width="{max(pen * scale, 1.0):.2f}" stroke-linecap="round" stroke-linejoin="round"/>'
            )
        elif kind == "fill":
            _, points, color = element
            coordinates = " ".join(point(p) for p in points if math.isfinite(p[0]) and math.isfinite(p[1]))
            parts.append(f'<polygon points="{coordinates}" fill="{color}" stroke="none"/>')
        elif kind == "dot":
            _, centre, radius, color = element
            x, y = point(centre).split(",")
            parts.append(f'<circle cx="{x}" cy="{y}" r="{radius * scale:.2f}" fill="{color}"/>')
        else:
            _, where, text, color, font_size, align = element
            x, y = point(where).split(",")
            anchor = {"center": "middle", "right": "end"}.get(align, "start")
            escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            parts.append(
                f'<text x="{x}" y="{y}" fill="{color}" font-size="{font_size * scale:.2f}" '
                f'text-anchor="{anchor}">{escaped}</text>'
            )
    parts.append("</svg>")
    return "\n".join(parts)
