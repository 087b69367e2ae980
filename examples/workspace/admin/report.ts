import { sum } from "../src/math";
import { createUser, type User } from "../src/user";

export function importUsers(rows: readonly string[]): User[] {
  return rows.map((row) => {
    const [id = "", name = "", age = "0"] = row.split(",");
    return createUser(id.trim(), name.trim(), Number(age));
  });
}

export function averageAge(users: readonly User[]): number {
  return users.length === 0 ? 0 : sum(users.map((user) => user.age)) / users.length;
}
