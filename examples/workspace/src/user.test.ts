import { describe, expect, it } from "vitest";
import { createUser, greet } from "./user";

describe("user", () => {
  it("clamps the age", () => {
    expect(createUser("1", "Ada", 200).age).toBe(150);
  });

  it("greets by name", () => {
    expect(greet(createUser("2", "Grace", 40))).toBe("Hello, Grace!");
  });
});
