import polars as pl
import pytest

from cift.data.schema import QUOTES, TICKS
from cift.data.validate import validate_frame, validate_quotes, validate_ticks
from cift.errors import DataError, ParameterError


def ticks(**overrides):
    base = {"ts": [1_704_205_800, 1_704_205_801, 1_704_205_802], "symbol": ["A", "B", "A"],
            "price": [10.0, 20.0, 10.5], "size": [100, 200, 300], "side": [1, -1, 0]}
    base.update(overrides)
    return pl.DataFrame(base, strict=False)


def test_valid_ticks_come_out_in_schema_order_and_dtypes():
    out = validate_ticks(ticks(extra=[1, 2, 3]).select("side", "extra", "price", "ts",
                                                       "symbol", "size"))
    assert out.schema == pl.Schema(TICKS)
    assert out["size"].to_list() == [100.0, 200.0, 300.0]
    assert out["ts"].to_physical().to_list()[0] == 1_704_205_800 * 10**9


@pytest.mark.parametrize("overrides,row,field,match", [
    ({"price": [10.0, float("nan"), 1.0]}, 2, "price", "NaN or infinite"),
    ({"price": [10.0, 1.0, float("inf")]}, 3, "price", "NaN or infinite"),
    ({"size": [100, -5, 1]}, 2, "size", "negative"),
    ({"side": [1, 2, 0]}, 2, "side", "-1, 0 or \\+1"),
    ({"side": [1, 0, 300]}, 3, "side", "expected an integer, got 300"),
    ({"side": [1.0, 0.5, 0.0]}, 2, "side", "expected an integer"),
    ({"price": ["10", "x", "11"]}, 2, "price", "expected a number, got 'x'"),
    ({"symbol": ["A", None, "B"]}, 2, "symbol", "missing value"),
    ({"symbol": ["A", "B", ""]}, 3, "symbol", "empty"),
    ({"ts": ["2024-01-02", "2024-01-02", "later"]}, 3, "ts", "cannot parse"),
    ({"ts": [1, None, 3]}, 2, "ts", "missing timestamp"),
    ({"price": [1.0, None, 2.0]}, 2, "price", "missing value"),
    ({"side": ["buy", "sell", "hold"]}, 3, "side",
     "expected -1, 0, \\+1, buy, sell or unknown, got 'hold'"),
    ({"side": ["buy", None, "sell"]}, 2, "side", r"missing value \(side 0 is unknown: fill_null"),
])
def test_bad_values_name_row_and_field(overrides, row, field, match):
    with pytest.raises(DataError, match=match) as e:
        validate_ticks(ticks(**overrides), source="trades.csv")
    assert (e.value.source, e.value.row, e.value.field) == ("trades.csv", row, field)
    assert f"row {row}" in str(e.value) and f"'{field}'" in str(e.value)


def test_the_engine_rule_switches():
    # zero prices are data-model finite; the engine's rule asks them positive
    zero = ticks(price=[10.0, 0.0, 1.0])
    assert validate_ticks(zero)["price"].to_list() == [10.0, 0.0, 1.0]
    with pytest.raises(DataError, match="not a positive number") as e:
        validate_ticks(zero, positive_prices=True)
    assert (e.value.row, e.value.field) == (2, "price")
    quotes = pl.DataFrame({"ts": [1, 2], "symbol": ["A", ""], "bid_px": [1.0, 1.0],
                           "bid_sz": [1.0, 1.0], "ask_px": [2.0, -2.0], "ask_sz": [1.0, 1.0]})
    with pytest.raises(DataError) as e:
        validate_quotes(quotes, positive_prices=True)
    assert (e.value.row, e.value.field) == (2, "symbol")  # the first bad row of all rules
    with pytest.raises(DataError) as e:  # symbols left to the caller: the price is next
        validate_quotes(quotes, positive_prices=True, check_symbols=False)
    assert (e.value.row, e.value.field) == (2, "ask_px")
    assert validate_quotes(quotes.head(2).with_columns(ask_px=pl.lit(2.0)),
                           check_symbols=False)["symbol"].to_list() == ["A", ""]


@pytest.mark.parametrize("ask_px", [[2.0, None, 2.0], [2.0, float("nan"), 2.0],
                                    [None, None, None]])
def test_a_one_sided_quote_is_refused_with_what_to_do(ask_px):
    quotes = pl.DataFrame({"ts": [1, 2, 3], "symbol": "A", "bid_px": 1.0, "bid_sz": 1.0,
                           "ask_px": ask_px, "ask_sz": [1.0, 0.0, 1.0]})
    with pytest.raises(DataError, match="needs both sides: drop the rows of one-sided") as e:
        validate_quotes(quotes)
    assert (e.value.row, e.value.field) == (1 if ask_px[0] is None else 2, "ask_px")
    with pytest.raises(DataError) as e:  # a trade's missing price gets no such advice
        validate_ticks(ticks(price=[1.0, None, 2.0]))
    assert "sides" not in str(e.value)


def test_first_bad_row_wins_across_fields():
    df = ticks(size=[1, 1, -1], price=[1.0, float("nan"), 1.0])
    with pytest.raises(DataError) as e:
        validate_ticks(df)
    assert (e.value.row, e.value.field) == (2, "price")


def test_missing_column_is_named():
    with pytest.raises(DataError, match=r"missing column\(s\) \['size'\]") as e:
        validate_ticks(ticks().drop("size"))
    assert e.value.field == "size"


def test_wrong_column_type_is_named():
    with pytest.raises(DataError, match="expected a number, got a column of Boolean"):
        validate_ticks(ticks(price=[True, False, True]))
    with pytest.raises(DataError, match="expected text"):
        validate_ticks(ticks(symbol=[[1], [2], [3]]))


def test_float32_values_are_the_decimals_they_print_as():
    # prices kept as float32 (a frame downcast to save memory) widen to noise: 185.3 is
    # 185.3000030517578 as a float64; each is the float64 of its shortest float32 text
    f32 = ticks(price=pl.Series([185.3, 94000.12, 0.1], dtype=pl.Float32),
                size=pl.Series([0.001, 2.5, 1e6], dtype=pl.Float32))
    out = validate_ticks(f32)
    assert out["price"].to_list() == [185.3, 94000.12, 0.1]
    assert out["size"].to_list() == [0.001, 2.5, 1e6]
    assert (out["price"].cast(pl.Float32) == f32["price"]).all()  # the same float32s
    with pytest.raises(DataError, match="row 2, field 'price': value nan"):
        validate_ticks(ticks(price=pl.Series([1.5, float("nan"), 1.0], dtype=pl.Float32)))


def test_sides_written_as_words_are_read():
    # as exchanges export trades: buy/sell in any case, b/s, or the numbers as text
    out = validate_ticks(ticks(side=["BUY", " Sell", "b"]))["side"]
    assert out.dtype == pl.Int8 and out.to_list() == [1, -1, 1]
    assert validate_ticks(ticks(side=["S", "+1", "0"]))["side"].to_list() == [-1, 1, 0]
    # Databento's aggressor sides (Ask = a seller hit the bid), Tardis' unknown
    assert validate_ticks(ticks(side=["A", "B", "N"]))["side"].to_list() == [-1, 1, 0]
    assert validate_ticks(ticks(side=["ask", "bid", "unknown"]))["side"].to_list() == [-1, 1, 0]


def test_numeric_and_categorical_symbols_become_text():
    assert validate_ticks(ticks(symbol=[1301, 7203, 1301]))["symbol"].to_list() == \
        ["1301", "7203", "1301"]
    cat = ticks().with_columns(pl.col("symbol").cast(pl.Categorical))
    assert validate_ticks(cat)["symbol"].dtype == pl.String


def test_enum_symbols_become_text_or_stay_coded_on_request():
    enum = pl.Enum(["Z", "B", "A", "unused"])
    frame = ticks().with_columns(pl.col("symbol").cast(enum))
    text = validate_ticks(frame)
    assert text.schema == pl.Schema(TICKS) and text["symbol"].to_list() == ["A", "B", "A"]
    kept = validate_frame(frame, "ticks", enum_symbols=True)
    assert kept["symbol"].dtype == enum
    assert kept.with_columns(pl.col("symbol").cast(pl.String)).equals(text)


@pytest.mark.parametrize("enum_symbols", [False, True])
def test_an_empty_or_missing_enum_symbol_is_named(enum_symbols):
    enum = pl.Enum(["A", ""])
    empty = ticks(symbol=["A", "A", ""]).with_columns(pl.col("symbol").cast(enum))
    with pytest.raises(DataError, match="empty") as info:
        validate_frame(empty, "ticks", enum_symbols=enum_symbols)
    assert (info.value.row, info.value.field) == (3, "symbol")
    missing = ticks(symbol=["A", None, "A"]).with_columns(pl.col("symbol").cast(enum))
    with pytest.raises(DataError, match="missing value") as info:
        validate_frame(missing, "ticks", enum_symbols=enum_symbols)
    assert (info.value.row, info.value.field) == (2, "symbol")


def test_quotes():
    q = pl.DataFrame({"ts": [1, 2], "symbol": ["A", "A"], "bid_px": [9.9, 9.8],
                      "bid_sz": [1, 0], "ask_px": [10.0, 10.1], "ask_sz": [5, 5]})
    assert validate_quotes(q).schema == pl.Schema(QUOTES)
    with pytest.raises(DataError, match="row 2, field 'ask_sz'"):
        validate_quotes(q.with_columns(ask_sz=pl.Series([5, -1])))


def test_not_a_frame_and_unknown_table():
    with pytest.raises(DataError, match="polars DataFrame, got builtins.dict$"):
        validate_frame({"ts": [1]}, "ticks")  # type: ignore[arg-type]
    with pytest.raises(DataError, match=r"got pandas.DataFrame \(polars.from_pandas"):
        validate_frame(ticks().to_pandas(), "ticks")
    with pytest.raises(DataError, match=r"got polars.LazyFrame \(collect\(\) it first"):
        validate_frame(ticks().lazy(), "ticks")
    with pytest.raises(ParameterError, match="table"):
        validate_frame(ticks(), "trades")


def test_empty_frame_is_valid():
    assert validate_ticks(ticks().clear()).height == 0
