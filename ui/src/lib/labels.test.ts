import { describe, expect, it } from "vitest";

import { buildCreate, buildUpdate, emptyTenantForm, tenantToForm } from "./forms";
import { mapFieldErrors } from "./errors";
import {
  isHexColor,
  labelRow,
  labelsToRows,
  labelTexts,
  parseLabelFilter,
  pickerValue,
  removeRow,
  rowsToLabels,
  sameLabels,
} from "./labels";
import { tenant } from "./testdata";
import { isEmptyFilter, toFilter } from "./tenants";

describe("the labels editor", () => {
  it("starts from the tenant's labels, one row each, by key", () => {
    const rows = labelsToRows({ team: "payments", env: "prod" });
    expect(rows.map((r) => [r.key, r.value])).toEqual([
      ["env", "prod"],
      ["team", "payments"],
    ]);
    expect(new Set(rows.map((r) => r.id)).size).toBe(2);
    expect(labelsToRows(undefined)).toEqual([]);
  });

  it("adds and removes rows, the others keeping their ids and text", () => {
    const rows = labelsToRows({ env: "prod", team: "a" });
    const added = [...rows, labelRow("region", "eu-west")];
    const removed = removeRow(added, rows[0]!.id);
    expect(removed.map((r) => r.key)).toEqual(["team", "region"]);
    expect(removed[0]!.id).toBe(rows[1]!.id);
    expect(rowsToLabels(removed)).toEqual({ labels: { team: "a", region: "eu-west" }, error: null });
  });

  it("turns rows into the map sent, ignoring empty rows and keeping a value's spaces", () => {
    const rows = [labelRow(" env ", "prod"), labelRow("", ""), labelRow("note", " 50% off "), labelRow("empty", "")];
    expect(rowsToLabels(rows)).toEqual({ labels: { env: "prod", note: " 50% off ", empty: "" }, error: null });
  });

  it("says at once when a key is given twice or a value has none", () => {
    const rows = [labelRow("env", "prod"), labelRow("env", "dev"), labelRow("", "orphan")];
    const { labels, error } = rowsToLabels(rows);
    expect(labels).toEqual({ env: "prod" });
    expect(error).toBe('The key "env" is given twice; the value "orphan" has no key.');
  });

  it("compares label maps by their pairs, not their order", () => {
    expect(sameLabels({ a: "1", b: "2" }, { b: "2", a: "1" })).toBe(true);
    expect(sameLabels({ a: "1" }, { a: "2" })).toBe(false);
    expect(sameLabels({ a: "1" }, { a: "1", b: "" })).toBe(false);
    expect(sameLabels(undefined, {})).toBe(true);
  });
});

describe("labels and the accent colour in the tenant form", () => {
  it("sends a new tenant's colour and labels, and nothing when there are none", () => {
    const form = { ...emptyTenantForm(), slug: "acme", name: "Acme", accent_color: "#0A7CFF", labels: [labelRow("env", "prod")] };
    expect(buildCreate(form).body).toEqual({ slug: "acme", name: "Acme", plan: "team", accent_color: "#0A7CFF", labels: { env: "prod" } });
    expect(buildCreate({ ...emptyTenantForm(), slug: "acme", name: "Acme" }).body).toEqual({ slug: "acme", name: "Acme", plan: "team" });
  });

  it("puts a duplicate key at the labels field before anything is sent", () => {
    const form = { ...emptyTenantForm(), slug: "acme", name: "Acme", labels: [labelRow("env", "a"), labelRow("env", "b")] };
    expect(buildCreate(form).errors).toEqual({ labels: 'The key "env" is given twice.' });
  });

  it("sends an edit's labels whole when they change, and clears an emptied colour with null", () => {
    const original = tenant("acme", { accent_color: "#0a7cff", labels: { env: "prod", team: "a" } });
    const form = tenantToForm(original);
    expect(form.accent_color).toBe("#0a7cff");
    expect(buildUpdate(original, form).unchanged).toBe(true);
    const edited = { ...form, accent_color: "", labels: [...removeRow(form.labels, form.labels[1]!.id), labelRow("region", "eu")] };
    expect(buildUpdate(original, edited).body).toEqual({ accent_color: null, labels: { env: "prod", region: "eu" } });
    const recoloured = { ...form, accent_color: "#30a46c" };
    expect(buildUpdate(original, recoloured).body).toEqual({ accent_color: "#30a46c" });
  });

  it("shows the server's errors about one label at the labels field, naming the key", () => {
    const mapped = mapFieldErrors(
      [
        { field: "labels.Env", message: "a label key must start with a lowercase letter or a digit" },
        { field: "labels", message: "at most 32 labels are allowed, got 33" },
        { field: "accent_color", message: "must be a colour as `#rrggbb`" },
      ],
      ["labels", "accent_color"],
    );
    expect(mapped.other).toEqual([]);
    expect(mapped.byField.labels).toBe("Env: a label key must start with a lowercase letter or a digit. At most 32 labels are allowed, got 33.");
    expect(mapped.byField.accent_color).toBe("Must be a colour as “#rrggbb”.");
  });

  it("keeps the colour picker on a colour while the text is not one", () => {
    expect(isHexColor("#0A7cff")).toBe(true);
    expect(isHexColor("#0a7cf")).toBe(false);
    expect(pickerValue(" #0A7CFF ")).toBe("#0a7cff");
    expect(pickerValue("red")).toBe("#808080");
  });
});

describe("the label filter", () => {
  it("reads the box as comma-separated key=value or key filters for core", () => {
    expect(parseLabelFilter(" env=prod , team ,, ")).toEqual(["env=prod", "team"]);
    expect(parseLabelFilter("note=50% off")).toEqual(["note=50% off"]);
    expect(parseLabelFilter("   ")).toEqual([]);
  });

  it("goes into the filter core applies, and a filter with labels needs core's answer", () => {
    expect(toFilter("acme", "all", "env=prod, team")).toEqual({ status: null, plan: null, search: "acme", labels: ["env=prod", "team"] });
    expect(isEmptyFilter(toFilter("", "all", " , "))).toBe(true);
    expect(isEmptyFilter(toFilter("", "all", "env"))).toBe(false);
  });

  it("shows labels as the table's chips, by key", () => {
    expect(labelTexts({ team: "a", env: "prod" })).toEqual(["env=prod", "team=a"]);
    expect(labelTexts(undefined)).toEqual([]);
  });
});
