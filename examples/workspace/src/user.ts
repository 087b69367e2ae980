import { clamp, type Range } from "./math";

export interface User {
  id: string;
  name: string;
  age: number;
}

const AGE_RANGE: Range = { min: 0, max: 150 };

export function createUser(id: string, name: string, age: number): User {
  return { id, name, age: clamp(age, AGE_RANGE) };
}

export function greet(user: User): string {
  return `Hello, ${user.name}!`;
}
