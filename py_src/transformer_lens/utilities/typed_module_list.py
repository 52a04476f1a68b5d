"""``nn.ModuleList`` that says what it holds, for type checkers (``TypedModuleList[TransformerBlock]``)."""

from __future__ import annotations

from typing import Generic, Iterator, TypeVar, overload

import torch.nn as nn

ModuleT = TypeVar("ModuleT", bound=nn.Module)

__all__ = ["TypedModuleList"]


class TypedModuleList(nn.ModuleList, Generic[ModuleT]):
    """An ``nn.ModuleList`` whose items are typed ``ModuleT``; at run time it is a plain ModuleList."""

    def __iter__(self) -> Iterator[ModuleT]:  # type: ignore[override]
        return super().__iter__()  # type: ignore[return-value]

    @overload
    def __getitem__(self, index: int) -> ModuleT: ...

    @overload
    def __getitem__(self, index: slice) -> "TypedModuleList[ModuleT]": ...

    def __getitem__(self, index):  # type: ignore[override]
        return super().__getitem__(index)
