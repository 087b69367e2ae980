import { createUser, greet, type User } from "../src/user";

export interface CreateUserRequest {
  id: string;
  name: string;
  age: number;
}

const users = new Map<string, User>();

export function handleCreateUser(request: CreateUserRequest): { status: number; message: string } {
  if (users.has(request.id)) {
    return { status: 409, message: `user ${request.id} exists` };
  }
  const user = createUser(request.id, request.name, request.age);
  users.set(user.id, user);
  return { status: 201, message: greet(user) };
}

export function handleGetUser(id: string): User | undefined {
  return users.get(id);
}
