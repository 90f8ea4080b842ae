print(#arg, arg[1], arg[2], arg[0], table.concat({...}, "|"))
